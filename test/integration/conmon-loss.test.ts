// A container whose conmon was killed (so no exit file will ever come) is still stopped, reported
// exited with 137 after SIGKILL, and removed with its pod: runc's state decides. Also when cricket
// restarted in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useCricket, waitFor, type TestDaemon } from '../harness/cricket.js';
import { containerConfig, containerStatus, podConfig, runPod, startContainer } from '../harness/pods.js';
import { parseProcStat } from '../../src/process/proc-stat.js';

const d = useCricket();

/** Starts a pod with one long-running container and SIGKILLs the container's conmon. */
async function podWithLostConmon(daemon: TestDaemon, name: string): Promise<{ podId: string; containerId: string }> {
  const pod = podConfig(daemon, name);
  const { id: podId } = await runPod(daemon, pod);
  // sleep as PID 1 has no SIGTERM handler: only SIGKILL ends it.
  const containerId = await startContainer(daemon, podId, pod, containerConfig('app', ['sleep', '3600']));
  const conmonPid = Number(readFileSync(join(daemon.stateDir, 'containers', containerId, 'conmon.pid'), 'utf8'));
  const conmon = parseProcStat(readFileSync(`/proc/${conmonPid}/stat`, 'utf8'))!;
  assert.equal(conmon.comm, 'cricket-monitor');
  process.kill(conmonPid, 'SIGKILL');
  await waitFor('conmon to die', () => {
    try {
      const now = parseProcStat(readFileSync(`/proc/${conmonPid}/stat`, 'utf8'));
      return now?.startTime !== conmon.startTime || now.state === 'Z' ? true : undefined;
    } catch {
      return true;
    }
  });
  assert.equal(daemon.runcState(containerId)?.status, 'running', 'the container outlives its conmon');
  return { podId, containerId };
}

async function assertKilledAndRemovable(daemon: TestDaemon, podId: string, containerId: string): Promise<void> {
  const status = await containerStatus(daemon, containerId);
  assert.equal(status.state, 'CONTAINER_EXITED');
  assert.equal(status.exit_code, 137);
  assert.ok(BigInt(status.finished_at) >= BigInt(status.started_at));
  await daemon.cri.runtime.call('RemoveContainer', { container_id: containerId });
  const { containers } = await daemon.cri.runtime.call<{ containers: unknown[] }>('ListContainers', { filter: { pod_sandbox_id: podId } });
  assert.equal(containers.length, 0);
  await daemon.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: podId });
  await daemon.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.equal(daemon.runcState(containerId), undefined);
  assert.equal(daemon.runcState(podId), undefined);
}

test('after conmon is killed, StopContainer still stops the container and records 137', async () => {
  const { podId, containerId } = await podWithLostConmon(d, 'lost-conmon');
  await d.cri.runtime.call('StopContainer', { container_id: containerId, timeout: 1 });
  await assertKilledAndRemovable(d, podId, containerId);
});

test('after conmon is killed and cricket restarted, the container is still stopped and removed', async () => {
  const { podId, containerId } = await podWithLostConmon(d, 'lost-conmon-restart');
  await d.kill();
  await d.restart();
  assert.equal((await containerStatus(d, containerId)).state, 'CONTAINER_RUNNING');
  await d.cri.runtime.call('StopContainer', { container_id: containerId, timeout: 0 });
  await assertKilledAndRemovable(d, podId, containerId);
});

test('StopPodSandbox stops a container whose conmon is gone', async () => {
  const { podId, containerId } = await podWithLostConmon(d, 'lost-conmon-pod');
  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: podId });
  await assertKilledAndRemovable(d, podId, containerId);
});
