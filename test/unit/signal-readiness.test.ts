// A stop sent moments after a start must reach the container's first process: it is PID 1 of its
// namespace, and the kernel drops a signal it neither catches nor blocks.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { waitUntilSignalCanLand } from '../../src/container/signal-readiness.js';
import { nowNs } from '../../src/store/clock.js';
import { processStart } from '../../src/process/identity.js';

const syscallsModule = new URL('../../src/process/syscalls.js', import.meta.url).href;

/** Runs `command` as PID 1 of a new PID namespace; resolves with the host pid of that process. */
async function asNamespaceInit(command: string[]): Promise<{ child: ChildProcess; pid: number }> {
  const child = spawn('unshare', ['--pid', '--fork', '--kill-child', '--', ...command], { stdio: ['ignore', 'pipe', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
    if (children) return { child, pid: Number(children.split(' ')[0]) };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('unshare started no child');
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
const status = (pid: number, field: string) => readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))?.split(/\s+/)[1];

test("a process still named as runc's init is not taken at its runtime's handlers: the wait lasts until its exec", async () => {
  // Stands in for runc's init between the exec fifo's end and the exec: its name, a SIGTERM
  // handler of its runtime's, then, 300 ms on, the container's program, which traps SIGTERM.
  const script = `
    import { syscalls } from ${JSON.stringify(syscallsModule)};
    process.title = 'runc:[2:INIT]';
    process.on('SIGTERM', () => {});
    setTimeout(() => syscalls().execve('/bin/sh', ['sh', '-c', 'trap "exit 5" TERM; while :; do sleep 0.02; done'], []), 300);
  `;
  const { child, pid } = await asNamespaceInit([process.execPath, '--input-type=module', '-e', script]);
  const done = exited(child);
  try {
    for (let i = 0; i < 100 && status(pid, 'Name') !== 'runc:[2:INIT]'; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(status(pid, 'Name'), 'runc:[2:INIT]');
    const t0 = Date.now();
    await waitUntilSignalCanLand(pid, await processStart(pid), 'SIGTERM', nowNs());
    const waited = Date.now() - t0;
    assert.ok(waited >= 150, `returned after ${waited} ms, while the process was still runc's init`);
    assert.equal(status(pid, 'Name'), 'sh');
    process.kill(pid, 'SIGTERM');
    assert.equal(await done, 5, 'the trap ran: the signal was not dropped');
  } finally {
    child.kill('SIGKILL');
  }
});

test('a PID 1 waiting in sigwaitinfo for the signal is ready at once, though /proc shows it neither caught nor blocked', async () => {
  // cricket's pause blocks SIGTERM and waits for it with sigwaitinfo, as tini and dumb-init do.
  const pause = fileURLToPath(new URL('../../../build/native/pause', import.meta.url));
  const { child, pid } = await asNamespaceInit([pause]);
  const done = exited(child);
  try {
    for (let i = 0; i < 200 && !readFileSync(`/proc/${pid}/wchan`, 'utf8').includes('sigtimedwait'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.match(readFileSync(`/proc/${pid}/wchan`, 'utf8'), /sigtimedwait/);
    const bit = 1n << 14n; // SIGTERM
    assert.equal(BigInt(`0x${status(pid, 'SigCgt')}`) & bit, 0n);
    assert.equal(BigInt(`0x${status(pid, 'SigBlk')}`) & bit, 0n, 'the kernel lifts the waited set out of the mask /proc shows');
    const t0 = Date.now();
    await waitUntilSignalCanLand(pid, await processStart(pid), 'SIGTERM', nowNs());
    const waited = Date.now() - t0;
    assert.ok(waited < 1000, `waited ${waited} ms of the 2 s window for a process already waiting for the signal`);
    process.kill(pid, 'SIGTERM');
    assert.equal(await done, 0, 'pause took SIGTERM and ended');
  } finally {
    child.kill('SIGKILL');
  }
});

test('a PID 1 that blocks the signal is ready at once: the signal is queued, not dropped', async () => {
  const blockTerm = 'import signal, time; signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM]); time.sleep(30)';
  const { child, pid } = await asNamespaceInit(['python3', '-c', blockTerm]);
  const bit = 1n << 14n; // SIGTERM
  try {
    // unshare's child has SIGTERM blocked between its fork and its exec too: only python's own block counts.
    const blockedByPython = () => status(pid, 'Name') === 'python3' && (BigInt(`0x${status(pid, 'SigBlk') ?? '0'}`) & bit) !== 0n;
    for (let i = 0; i < 300 && !blockedByPython(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(BigInt(`0x${status(pid, 'SigCgt')}`) & bit, 0n, 'no handler');
    assert.notEqual(BigInt(`0x${status(pid, 'SigBlk')}`) & bit, 0n, 'blocked');
    const t0 = Date.now();
    await waitUntilSignalCanLand(pid, await processStart(pid), 'SIGTERM', nowNs());
    const waited = Date.now() - t0;
    assert.ok(waited < 1000, `waited ${waited} ms of the 2 s window for a process that blocks the signal`);
    process.kill(pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
    assert.notEqual(BigInt(`0x${status(pid, 'ShdPnd')}`) & bit, 0n, 'the signal waits, queued, for the process to take it');
  } finally {
    child.kill('SIGKILL');
  }
});

test('a pid that is not the recorded process any more is not looked at, nor waited for', async () => {
  // A PID 1 with no handler, which the wait would otherwise watch for the whole window.
  const { child, pid } = await asNamespaceInit(['sleep', '30']);
  try {
    const start = await processStart(pid);
    assert.ok(start);
    const t0 = Date.now();
    await waitUntilSignalCanLand(pid, { ...start, startTime: start.startTime + 1 }, 'SIGTERM', nowNs());
    const waited = Date.now() - t0;
    assert.ok(waited < 500, `waited ${waited} ms for a process that is not the recorded one`);
  } finally {
    child.kill('SIGKILL');
  }
});
