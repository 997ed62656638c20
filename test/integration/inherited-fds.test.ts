// `cricket serve` started by a caller that left a descriptor open (a shell's pipe, a job runner's
// socket): the daemon, its monitors and the pod processes, all outliving that caller, must not
// hold it, or the caller's reader waits for an end of file that comes only when the last
// container of the node has gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { useCricket, waitFor } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import { processesWhere } from '../harness/processes.js';

const d = useCricket({ extraInheritedFd: true });

/** What each of the process's descriptors above stderr refers to. */
function descriptorsAbove2(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => Number(fd) > 2).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return 'gone';
    }
  });
}

test('a descriptor the caller left open reaches neither cricket-init, the daemon, conmon nor pause', async () => {
  const pod = podConfig(d, 'inherited-fd');
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('app', ['sleep', '3600']));
  const end = d.inheritedEnd();
  assert.ok(end, 'the harness started cricket serve with a descriptor 3');
  // A socket pair whose end the harness reads from the start: it reads end of file once no
  // process holds the other end any more, and cricket-init, the daemon, pause and conmon all run.
  await waitFor('the end of file on the inherited descriptor', () => (end.readableEnded ? true : undefined), 5000);
  // It came while they all run; and cricket-init keeps nothing but its stdio.
  assert.equal(d.runcState(id)?.status, 'running', 'pause runs');
  assert.equal(processesWhere((argv) => argv[0]?.endsWith('conmon') === true && argv.includes(c)).length, 1, 'the container\'s conmon runs');
  assert.ok(existsSync(`/proc/${d.pid()}`), 'the daemon runs');
  assert.deepEqual(descriptorsAbove2(d.servePid()), []);
});
