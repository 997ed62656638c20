// /proc/<pid>/stat parsing and the start-time check that keeps a reused pid from being signalled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { parseProcStat } from '../../src/process/proc-stat.js';
import { bootId, checkProcess, processStart, signalProcess } from '../../src/process/identity.js';
import { syscalls } from '../../src/process/syscalls.js';

const tail = '0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 46755 3133440 412 18446744073709551615 1 2 3 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 4 5 6 7 8 9 10 0';

test('plain stat line: state, parent and field 22, the start time', () => {
  const stat = parseProcStat(`21319 (cat) R 21316 21316 13604 ${tail}\n`);
  assert.deepEqual(stat, { pid: 21319, comm: 'cat', state: 'R', ppid: 21316, startTime: 46755 });
});

test('a command name with ") " and spaces inside does not shift the fields', () => {
  const stat = parseProcStat(`77 (evil) S 1 2 (x) Z 9 9 9 ${tail}`);
  assert.equal(stat?.comm, 'evil) S 1 2 (x');
  assert.equal(stat?.state, 'Z');
  assert.equal(stat?.ppid, 9);
  assert.equal(stat?.startTime, 46755);
});

test('a command name that is only ")" or empty', () => {
  assert.equal(parseProcStat(`5 ()) S 1 1 1 ${tail}`)?.comm, ')');
  assert.equal(parseProcStat(`5 () S 1 1 1 ${tail}`)?.comm, '');
  assert.equal(parseProcStat(`5 () S 1 1 1 ${tail}`)?.startTime, 46755);
});

test('malformed lines are rejected, not half read', () => {
  for (const bad of ['', '12', '12 (x)', `x (cat) R 1 1 1 ${tail}`, '12 (cat) R 1 1 1 0 0', `12 (cat) 7 1 1 1 ${tail}`, `12 (cat) R -3 1 1 ${tail}`, `-1 (cat) R 1 1 1 ${tail}`, 'a'.repeat(5000)]) {
    assert.equal(parseProcStat(bad), undefined, JSON.stringify(bad.slice(0, 40)));
  }
  const noStart = `12 (cat) R 1 1 1 ${tail}`.split(' ');
  noStart[21] = 'x';
  assert.equal(parseProcStat(noStart.join(' ')), undefined);
});

test('the live stat of this process parses, and matches its own start stamp', async () => {
  const start = await processStart(process.pid);
  assert.ok(start && start.startTime > 0 && start.bootId === bootId());
  assert.equal(await checkProcess(process.pid, start), 'running');
  assert.equal(await checkProcess(process.pid, { ...start, startTime: start.startTime + 1 }), 'gone');
  assert.equal(await checkProcess(process.pid, { ...start, bootId: 'another-boot' }), 'gone');
  assert.equal(await checkProcess(process.pid, undefined), 'gone');
});

test('a process whose start time does not match is not signalled; the recorded one is', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await once(child, 'spawn');
  const pid = child.pid!;
  const start = (await processStart(pid))!;
  assert.equal(await signalProcess(pid, { ...start, startTime: start.startTime - 1 }, 'SIGKILL'), false);
  assert.equal(child.exitCode, null);
  assert.equal(await checkProcess(pid, start), 'running');
  const exited = once(child, 'exit');
  assert.equal(await signalProcess(pid, start, 'SIGKILL'), true);
  await exited;
  assert.equal(await checkProcess(pid, start), 'gone');
  assert.equal(await signalProcess(pid, start, 'SIGKILL'), false);
});

test('the native addon signals the process its pidfd was opened on', async () => {
  const sys = syscalls();
  assert.ok(sys, 'build/native/cricket-syscalls.node did not load');
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await once(child, 'spawn');
  const fd = sys.pidfdOpen(child.pid!);
  try {
    const exited = once(child, 'exit');
    sys.pidfdSendSignal(fd, constants.signals.SIGTERM);
    const [, signal] = await exited;
    assert.equal(signal, 'SIGTERM');
    // The process is gone and reaped: its pidfd refuses rather than finding another process.
    assert.throws(() => sys.pidfdSendSignal(fd, constants.signals.SIGTERM), /pidfd_send_signal: No such process/);
  } finally {
    closeSync(fd);
  }
  assert.throws(() => sys.pidfdOpen(0x3fffffff), /pidfd_open/);
});
