// A pod's /dev/shm: every container in the pod's IPC namespace mounts the same tmpfs, so POSIX
// shared memory is shared across the pod (as System V shared memory is); it lives until
// StopPodSandbox, outlives a daemon restart, and a hostIPC pod has none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_CGROUP_PARENT, useCricket } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';

const d = useCricket();

const mountedAt = (path: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === path);

async function execIn(container: string, cmd: string[]): Promise<{ stdout: string; exit_code: number }> {
  const r = await d.cri.runtime.call<{ stdout: Buffer; exit_code: number }>('ExecSync', { container_id: container, cmd, timeout: 10 });
  return { stdout: String(r.stdout), exit_code: r.exit_code };
}

test("the containers of a pod share its /dev/shm, which goes with StopPodSandbox and stays over a daemon restart", { timeout: 120_000 }, async () => {
  const pod = podConfig(d, 'shm-shared');
  const { id } = await runPod(d, pod);
  const shm = join(d.stateDir, 'sandboxes', id, 'shm');
  const mounts = mountedAt(shm);
  assert.equal(mounts.length, 1, 'one mount at the pod directory\'s shm');
  assert.match(mounts[0]!, / - tmpfs shm .*size=65536k/);
  assert.match(mounts[0]!.split(' ')[5]!, /nosuid.*nodev.*noexec/);

  const writer = await startContainer(d, id, pod, containerConfig('writer', ['sh', '-c', 'echo from-writer > /dev/shm/note && sleep 3600']));
  const reader = await startContainer(d, id, pod, containerConfig('reader', ['sleep', '3600']));
  let seen = '';
  for (let i = 0; i < 50 && seen !== 'from-writer\n'; i++) {
    seen = (await execIn(reader, ['cat', '/dev/shm/note'])).stdout;
    if (seen !== 'from-writer\n') await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(seen, 'from-writer\n', "the reader sees the writer's file in /dev/shm");
  // Mode 1777 at its root, as a /dev/shm of its own would have.
  assert.equal((await execIn(writer, ['stat', '-c', '%a', '/dev/shm'])).stdout.trim(), '1777');

  // A restart of the daemon leaves a running pod's /dev/shm mounted, and its content there.
  await d.kill();
  await d.restart();
  assert.equal(mountedAt(shm).length, 1, 'still mounted after the restart');
  const late = await startContainer(d, id, pod, containerConfig('late', ['sleep', '3600']));
  assert.equal((await execIn(late, ['cat', '/dev/shm/note'])).stdout, 'from-writer\n');

  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
  assert.equal(mountedAt(shm).length, 0, 'unmounted when the pod stops');
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('a hostIPC pod has no /dev/shm of its own: each of its containers keeps a tmpfs of its own', { timeout: 60_000 }, async () => {
  const pod = podConfig(d, 'shm-host-ipc', {
    linux: { cgroup_parent: `/${TEST_CGROUP_PARENT}`, security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'NODE' } } },
  });
  const { id } = await runPod(d, pod);
  assert.equal(mountedAt(join(d.stateDir, 'sandboxes', id, 'shm')).length, 0);
  const a = await startContainer(d, id, pod, containerConfig('a', ['sh', '-c', 'echo a > /dev/shm/own && sleep 3600']));
  const b = await startContainer(d, id, pod, containerConfig('b', ['sleep', '3600']));
  for (let i = 0; i < 50 && (await execIn(a, ['cat', '/dev/shm/own'])).stdout !== 'a\n'; i++) await new Promise((r) => setTimeout(r, 100));
  assert.notEqual((await execIn(b, ['cat', '/dev/shm/own'])).exit_code, 0, "b does not see a's file");
  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
});
