// StopContainer's SIGKILL ends every process of the container: through a pidfd of its first
// process when the container has a PID namespace of its own (the kernel ends the rest), through
// the runtime's kill of the whole cgroup when it shares the pod's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TEST_CGROUP_PARENT, useCricket, waitFor } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import { processesWhere } from '../harness/processes.js';

const d = useCricket();

/** A first process that ignores SIGTERM, with two children of its own. */
const stubborn = (seconds: string): string[] => ['sh', '-c', `trap "" TERM; sleep ${seconds} & sleep ${seconds} & wait`];
const sleepers = (seconds: string): number[] => processesWhere((argv) => argv[0] === 'sleep' && argv[1] === seconds);

async function stopAndCheck(podId: string, pod: Record<string, unknown>, pidMode: string, seconds: string): Promise<string> {
  const id = await startContainer(d, podId, pod, containerConfig(`stubborn-${seconds}`, stubborn(seconds), { linux: { security_context: { namespace_options: { pid: pidMode } } } }));
  await waitFor('both children to run', () => (sleepers(seconds).length === 2 ? true : undefined));
  await d.cri.runtime.call('StopContainer', { container_id: id, timeout: 0 });
  await waitFor('every process of the container to end', () => (sleepers(seconds).length === 0 ? true : undefined));
  // The daemon's log reaches its file through a pipe: wait for the line.
  return waitFor('the stop log line', () =>
    readFileSync(d.logFile, 'utf8')
      .split('\n')
      .find((l) => l.includes(id) && l.includes('"step":"stop"')),
  );
}

test('SIGKILL ends the children too, by pidfd in a PID namespace of its own', async () => {
  const pod = podConfig(d, 'stop-kill-own');
  const { id } = await runPod(d, pod);
  const line = await stopAndCheck(id, pod, 'CONTAINER', '6011');
  assert.match(line, /"kill":"pidfd"/);
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('SIGKILL ends the children too, by the runtime in the pod\'s shared PID namespace', async () => {
  const pod = podConfig(d, 'stop-kill-shared', { linux: { cgroup_parent: `/${TEST_CGROUP_PARENT}`, security_context: { namespace_options: { pid: 'POD' } } } });
  const { id } = await runPod(d, pod);
  const line = await stopAndCheck(id, pod, 'POD', '6022');
  assert.match(line, /"kill":"runtime"/);
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
});
