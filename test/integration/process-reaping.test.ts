// Every process cricket starts is reaped inside cricket's own process tree (cricket serve runs as
// a child subreaper), never left to the host's init, and the pid that started `cricket serve`
// still stops it: SIGTERM for a clean shutdown, SIGKILL taking the daemon down with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useCricket, waitFor } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import { parseProcStat, type ProcStat } from '../../src/process/proc-stat.js';

const d = useCricket();

function stat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Whether `pid` descends from `ancestor`. */
function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    const s = stat(p);
    if (!s) return false;
    if (s.ppid === ancestor) return true;
    p = s.ppid;
  }
  return false;
}

function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

test('pause and conmon live in cricket\'s process tree and leave no zombie after RemovePodSandbox', async () => {
  const top = d.servePid();
  assert.equal(stat(top)?.comm, 'cricket-init');
  assert.equal(stat(d.pid())?.ppid, top, 'the daemon is the child of cricket-init');
  // bin/cricket learns it before the daemon's code loads, and tells the daemon.
  const told = readFileSync(d.logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg?: string; initPid?: number })
    .find((l) => l.msg?.startsWith('running under cricket-init'));
  assert.equal(told?.initPid, top, 'the daemon logs the pid of the cricket-init it runs under');
  const pod = podConfig(d, 'reaped');
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('app', ['sleep', '3600']));
  const pausePid = d.runcState(id)!.pid;
  const conmonPid = Number(readFileSync(join(d.stateDir, 'containers', c, 'conmon.pid'), 'utf8'));
  const containerPid = d.runcState(c)!.pid;
  const [pause, conmon] = [stat(pausePid)!, stat(conmonPid)!];
  // The record names the monitor conmon forked off (its pid file), with that process's start.
  const record = JSON.parse(readFileSync(join(d.root, 'containers', `${c}.json`), 'utf8')) as { conmonPid: number; conmonStart?: { startTime: number } };
  assert.equal(record.conmonPid, conmonPid);
  assert.equal(record.conmonStart?.startTime, conmon.startTime);
  assert.notEqual(pause.ppid, 1, 'pause was left to the host init');
  assert.notEqual(conmon.ppid, 1, 'conmon was left to the host init');
  assert.ok(descendsFrom(pausePid, top), `pause's parent ${pause.ppid} is not in the tree of ${top}`);
  assert.ok(descendsFrom(conmonPid, top), `conmon's parent ${conmon.ppid} is not in the tree of ${top}`);
  assert.ok(descendsFrom(containerPid, top));

  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
  for (const [what, before] of [['pause', pause], ['conmon', conmon]] as const) {
    const now = stat(before.pid);
    // Gone, or the pid already belongs to a new process: either way not a zombie of ours.
    assert.ok(!now || now.startTime !== before.startTime, `${what} (pid ${before.pid}) still there: state ${now?.state}`);
  }
});

test('SIGKILL of the pid that started cricket serve takes the daemon with it; SIGTERM shuts it down cleanly', async () => {
  const top = d.servePid();
  const daemons = childrenOf(top).filter((pid) => stat(pid)?.comm.startsWith('node'));
  assert.deepEqual(daemons, [d.pid()], `one node daemon under ${top}: ${childrenOf(top).join(',')}`);
  const daemon = stat(d.pid())!;
  await d.kill('SIGKILL');
  await waitFor('the daemon to die with its wrapper', () => (stat(daemon.pid)?.startTime === daemon.startTime ? undefined : true), 5000);
  await d.restart();
  const { version } = await d.cri.runtime.call<{ version: string }>('Version', {});
  assert.ok(version);

  const logBefore = readFileSync(d.logFile, 'utf8').length;
  const again = d.pid();
  assert.notEqual(again, d.servePid());
  await d.kill('SIGTERM');
  assert.equal(stat(again), undefined);
  // The log reaches its file through a pipe: give the last lines a moment.
  await waitFor('the shutdown line in the log', () => (/shutting down; pods and containers keep running/.test(readFileSync(d.logFile, 'utf8').slice(logBefore)) ? true : undefined), 5000);
  await d.restart();
});
