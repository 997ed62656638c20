// cricket killed in the middle of RunPodSandbox leaves nothing behind once it is started again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ipReservations, TEST_BRIDGE, TEST_SUBNET, waitFor, useCricket } from '../harness/cricket.js';
import { podConfig } from '../harness/pods.js';

/**
 * A CNI plugin that passes the previous result through, but on ADD first waits until a file
 * named "release" appears beside it, or its caller dies: it holds RunPodSandbox at the point
 * where the netns is pinned, pause runs and the bridge plugin has handed out an IP.
 */
const HOLDING_PLUGIN = `#!/bin/sh
input=$(cat)
dir=$(dirname "$0")
if [ "$CNI_COMMAND" = ADD ]; then
  touch "$dir/held"
  while [ ! -e "$dir/release" ] && kill -0 $PPID 2>/dev/null; do sleep 0.05; done
fi
if [ "$CNI_COMMAND" = VERSION ]; then echo '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}'; exit 0; fi
if [ "$CNI_COMMAND" = ADD ]; then
  printf '%s' "$input" | sed -n 's/.*"prevResult":\\(.*\\)}$/\\1/p'
fi
exit 0
`;

const d = useCricket({
  cniBinDirs: (dir) => {
    const bin = join(dir, 'cni-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'holding'), HOLDING_PLUGIN);
    chmodSync(join(bin, 'holding'), 0o755);
    return [bin];
  },
  cniConfList: (dir) => ({
    cniVersion: '1.0.0',
    name: 'cricket-test-holding',
    plugins: [
      { type: 'bridge', bridge: TEST_BRIDGE, isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: TEST_SUBNET }]], dataDir: join(dir, 'root', 'cni') } },
      { type: 'holding' },
    ],
  }),
});

test('a pod half made when cricket was killed is undone at restart', async () => {
  const bin = join(d.dir, 'cni-bin');
  const pending = d.cri.runtime.call('RunPodSandbox', { config: podConfig(d, 'interrupted') }).catch((err: Error) => err);
  await waitFor('the CNI ADD to be held', () => (existsSync(join(bin, 'held')) ? true : undefined));
  const netnsDir = join(d.stateDir, 'netns');
  const [podId] = readdirSync(netnsDir);
  assert.ok(podId, 'the netns is pinned');
  await waitFor('pause to run', () => (d.runcState(podId!)?.status === 'running' ? true : undefined));
  assert.equal(ipReservations(join(d.root, 'cni')).length, 1, 'the bridge plugin reserved an IP');

  await d.kill('SIGKILL');
  assert.ok(await pending instanceof Error);
  writeFileSync(join(bin, 'release'), '');
  await d.restart();

  const { items } = await d.cri.runtime.call<{ items: unknown[] }>('ListPodSandbox', {});
  assert.deepEqual(items, []);
  assert.deepEqual(readdirSync(netnsDir), []);
  assert.equal(d.runcState(podId!), undefined, 'pause is gone');
  assert.deepEqual(ipReservations(join(d.root, 'cni')), []);
  assert.ok(!readFileSync('/proc/self/mounts', 'utf8').includes(podId!));
  assert.ok(!existsSync(join(d.stateDir, 'sandboxes', podId!)));
});
