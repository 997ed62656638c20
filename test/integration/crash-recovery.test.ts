// cricket killed in the middle of RunPodSandbox leaves nothing behind once it is started again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ipReservations, waitFor, useCricket, TEST_CGROUP_PARENT } from '../harness/cricket.js';
import { holdingNetwork } from '../harness/cni-holding.js';
import { podConfig, runPod } from '../harness/pods.js';

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

// RunPodSandbox starts pause while the pod's record is still being synced: a crash in between
// leaves a pause that no record names. Start-up must find it by runc's state and end it.
test('a pause left without a record is ended at restart', async () => {
  const pod = podConfig(d, 'no-record', { linux: { cgroup_parent: `/${TEST_CGROUP_PARENT}`, security_context: { namespace_options: { network: 'NODE' } } } });
  const { id } = await runPod(d, pod);
  const pause = d.runcState(id)!;
  assert.equal(pause.status, 'running');
  const pauseCgroups = (): string[] =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => !!m && m.startsWith('/sys/fs/cgroup/'))
      .filter((m) => existsSync(join(m, TEST_CGROUP_PARENT, id)));
  assert.ok(pauseCgroups().length > 0, 'the pause has cgroups under the test parent');
  await d.kill('SIGKILL');
  rmSync(join(d.root, 'sandboxes', `${id}.json`));
  await d.restart();

  const { items } = await d.cri.runtime.call<{ items: unknown[] }>('ListPodSandbox', {});
  assert.deepEqual(items, []);
  assert.equal(d.runcState(id), undefined, 'runc still knows the pause');
  await waitFor('the pause process to end', () => (existsSync(`/proc/${pause.pid}`) ? undefined : true));
  assert.deepEqual(pauseCgroups(), [], 'cgroups of the pause are left');
});
