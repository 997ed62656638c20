// `cricket serve` started by a careless caller: with a descriptor left open (a shell's pipe, a
// job runner's socket), a umask of 000, in a working directory of its own. The daemon, its
// monitors and the pod processes outlive that caller: holding its descriptor would keep its
// reader waiting for an end of file until the node's last container is gone; its working
// directory would keep its file system from being unmounted; taking its umask would make what
// cricket creates without naming a mode writable by every user of the node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CRICKET, useCricket, waitFor } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import { conmonsOf } from '../harness/processes.js';

const d = useCricket({ extraInheritedFd: true, umask: 0o000 });

function descriptorsAbove2(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => Number(fd) > 2).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return 'gone';
    }
  });
}

test('a descriptor and a working directory the caller left reach neither cricket-init, the daemon, conmon nor pause', async () => {
  const pod = podConfig(d, 'inherited-fd');
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('app', ['sleep', '3600']));
  const end = d.inheritedEnd();
  assert.ok(end, 'the harness started cricket serve with a descriptor 3');
  // A socket pair whose end the harness reads from the start: it reads end of file once no
  // process holds the other end any more, and cricket-init, the daemon, pause and conmon all run.
  await waitFor('the end of file on the inherited descriptor', () => (end.readableEnded ? true : undefined), 5000);
  assert.equal(d.runcState(id)?.status, 'running', 'pause runs');
  const conmons = conmonsOf(c);
  assert.equal(conmons.length, 1, 'the container\'s conmon runs');
  assert.ok(existsSync(`/proc/${d.pid()}`), 'the daemon runs');
  assert.deepEqual(descriptorsAbove2(d.servePid()), [], 'cricket-init keeps nothing but its stdio');
  // Nor do the daemon and the monitors that outlive it keep the caller's working directory.
  assert.notEqual(process.cwd(), '/');
  assert.equal(readlinkSync(`/proc/${d.pid()}/cwd`), '/');
  assert.equal(readlinkSync(`/proc/${conmons[0]}/cwd`), '/');
});

test('under a caller\'s umask of 000, what cricket makes without naming a mode is writable by root alone', async () => {
  const umask = readFileSync(`/proc/${d.pid()}/status`, 'utf8').split('\n').find((l) => l.startsWith('Umask:'));
  assert.equal(umask?.split(/\s+/)[1], '0022', 'the daemon set its own umask');
  const pod = podConfig(d, 'umask');
  const { id } = await runPod(d, pod);
  // A hostPath that does not exist yet is made by cricket, as is the container's log directory.
  const hostPath = join(d.dir, 'made-by-cricket', 'data');
  const config = containerConfig('writer', ['sleep', '3600'], { mounts: [{ container_path: '/data', host_path: hostPath }] });
  await startContainer(d, id, pod, config);
  const made = [hostPath, dirname(hostPath), join(String(pod.log_directory), 'writer')];
  for (const dir of made) {
    const mode = statSync(dir).mode & 0o777;
    assert.equal(mode & 0o022, 0, `${dir} is ${mode.toString(8)}`);
  }
});

/** Whether any socket listens on this TCP port of 127.0.0.1 (Node's debugger takes 9229). */
function listensOn(port: number): boolean {
  const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[1] === hex && fields[3] === '0A';
  });
}

test('SIGUSR1, SIGUSR2 and SIGHUP, to cricket-init or to the daemon, neither stop it nor open its debugger', async () => {
  assert.equal(listensOn(9229), false, 'nothing listens on the debugger port before');
  const daemon = d.pid();
  const logged = () => readFileSync(d.logFile, 'utf8').split('\n').filter((l) => l.includes('signal ignored')).length;
  const before = logged();
  // One at a time: two of a kind pending at once would be delivered as one.
  for (const [i, [pid, signal]] of ([[d.servePid(), 'SIGUSR1'], [daemon, 'SIGUSR1'], [d.servePid(), 'SIGUSR2'], [d.servePid(), 'SIGHUP']] as const).entries()) {
    process.kill(pid, signal);
    await waitFor(`the daemon to log ${signal}`, () => (logged() - before > i ? true : undefined), 5000);
  }
  await d.cri.runtime.call('Version', {});
  assert.equal(d.pid(), daemon, 'the same daemon answers');
  assert.equal(listensOn(9229), false, 'Node\'s debugger did not open');
  assert.ok(!readFileSync(d.logFile, 'utf8').includes('Debugger listening'));
});

test('a long-running CLI command does not open the debugger on SIGUSR1 either', async () => {
  const pod = podConfig(d, 'cli-usr1');
  const { id } = await runPod(d, pod);
  await startContainer(d, id, pod, containerConfig('talker', ['sh', '-c', 'while true; do echo tick; sleep 0.2; done']));
  const follower = spawn(process.execPath, [CRICKET, 'logs', '-f', id, '--socket', d.socket], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    // Following: a line has come through.
    await once(follower.stdout!, 'data');
    follower.kill('SIGUSR1');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(follower.exitCode, null, 'still following');
    assert.equal(listensOn(9229), false, 'Node\'s debugger did not open');
  } finally {
    follower.kill('SIGTERM');
    if (follower.exitCode === null) await once(follower, 'exit');
  }
});
