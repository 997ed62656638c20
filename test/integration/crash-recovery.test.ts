// cricket killed in the middle of RunPodSandbox leaves nothing behind once it is started again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ipReservations, waitFor, useCricket } from '../harness/cricket.js';
import { holdingNetwork } from '../harness/cni-holding.js';
import { podConfig } from '../harness/pods.js';

// The pod's CNI ADD waits (plugin `holding`) while <cni-bin>/hold-add exists.
const d = useCricket(holdingNetwork('cricket-test-holding'));

test('a pod half made when cricket was killed is undone at restart', async () => {
  const bin = join(d.dir, 'cni-bin');
  writeFileSync(join(bin, 'hold-add'), '');
  const pending = d.cri.runtime.call('RunPodSandbox', { config: podConfig(d, 'interrupted') }).catch((err: Error) => err);
  await waitFor('the CNI ADD to be held', () => (existsSync(join(bin, 'held-add')) ? true : undefined));
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
