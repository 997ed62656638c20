// A recorded pid is not a process: a stranger that holds a pod's or container's old pid (after a
// crash of pause, a reboot, or plain pid reuse) is never signalled and its namespaces never joined.
// Pid reuse cannot be forced, so each test stops cricket and points its record at a `sleep` of its
// own, as a reused pid would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { useCricket, waitFor } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import { parseProcStat } from '../../src/process/proc-stat.js';

const d = useCricket();

/**
 * A process that could hold a reused pid. A pid comes back only after the pid space has wrapped,
 * long after the process it named started; start times count in clock ticks (10 ms), so the
 * stranger starts two ticks after whatever the test made just before, never in the same tick.
 */
async function stranger(): Promise<ChildProcess> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  await once(child, 'spawn');
  return child;
}

function stillRunning(child: ChildProcess): boolean {
  let stat;
  try {
    stat = parseProcStat(readFileSync(`/proc/${child.pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
  return child.exitCode === null && child.signalCode === null && stat?.comm === 'sleep' && stat.state !== 'Z';
}

/** Rewrites one persisted record while cricket is stopped. */
function editRecord(kind: 'sandboxes' | 'containers', id: string, change: (r: Record<string, unknown>) => void): void {
  const file = join(d.root, kind, `${id}.json`);
  const record = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  change(record);
  writeFileSync(file, JSON.stringify(record));
}

test('StopPodSandbox does not kill a process that now holds the dead pause pid', async (t) => {
  const pod = podConfig(d, 'reused-pause-pid');
  const { id } = await runPod(d, pod);
  const sleeper = await stranger();
  t.after(() => sleeper.kill('SIGKILL'));
  await d.kill();
  // pause dies while cricket is down; its pid now names the test's sleep.
  const pausePid = d.runcState(id)!.pid;
  process.kill(pausePid, 'SIGKILL');
  await waitFor('pause to die', () => (d.runcState(id)?.status === 'stopped' ? true : undefined));
  editRecord('sandboxes', id, (r) => (r.pausePid = sleeper.pid));
  await d.restart();

  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
  assert.ok(stillRunning(sleeper), 'the stranger holding the old pause pid was killed');
  assert.equal(d.runcState(id), undefined);
});

test('CreateContainer refuses to join namespaces through a pause pid that names another process', async (t) => {
  const pod = podConfig(d, 'stranger-namespaces');
  const { id } = await runPod(d, pod);
  const sleeper = await stranger();
  t.after(() => sleeper.kill('SIGKILL'));
  await d.kill();
  editRecord('sandboxes', id, (r) => (r.pausePid = sleeper.pid));
  await d.restart();

  await assert.rejects(
    d.cri.runtime.call('CreateContainer', { pod_sandbox_id: id, config: containerConfig('joiner', ['sleep', '60']), sandbox_config: pod }),
    (err: { code: number; details: string }) => {
      assert.equal(err.code, status.FAILED_PRECONDITION, err.details);
      assert.match(err.details, /pause process of pod .* (gone|another process)/);
      return true;
    },
  );
  const { containers } = await d.cri.runtime.call<{ containers: unknown[] }>('ListContainers', { filter: { pod_sandbox_id: id } });
  assert.equal(containers.length, 0, 'a refused CreateContainer left a container');
  // The real pause is still stopped by StopPodSandbox (through runc, which checks its own record).
  const pausePid = d.runcState(id)!.pid;
  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
  assert.ok(stillRunning(sleeper), 'the stranger was killed');
  const left = (() => {
    try {
      return parseProcStat(readFileSync(`/proc/${pausePid}/stat`, 'utf8'));
    } catch {
      return undefined;
    }
  })();
  assert.ok(!left || left.comm !== 'pause' || left.state === 'Z', 'pause still runs after RemovePodSandbox');
});

test('a PID namespace TARGET whose recorded pid names another process is refused', async (t) => {
  const pod = podConfig(d, 'stranger-target');
  const { id } = await runPod(d, pod);
  const target = await startContainer(d, id, pod, containerConfig('target', ['sleep', '3600']));
  const sleeper = await stranger();
  t.after(() => sleeper.kill('SIGKILL'));
  await d.kill();
  editRecord('containers', target, (r) => (r.pid = sleeper.pid));
  await d.restart();

  await assert.rejects(
    d.cri.runtime.call('CreateContainer', {
      pod_sandbox_id: id,
      config: containerConfig('follower', ['sleep', '60'], { linux: { security_context: { namespace_options: { pid: 'TARGET', target_id: target } } } }),
      sandbox_config: pod,
    }),
    (err: { code: number; details: string }) => {
      assert.equal(err.code, status.FAILED_PRECONDITION, err.details);
      assert.match(err.details, new RegExp(`target container ${target}`));
      return true;
    },
  );
  await d.cri.runtime.call('StopContainer', { container_id: target, timeout: 1 });
  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
  assert.ok(stillRunning(sleeper), 'the stranger was killed');
});
