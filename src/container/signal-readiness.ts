import { closeSync, openSync, readSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkProcess, readProcFile, type ProcessStart } from '../process/identity.js';

/** How long after its start a container's first process may still be setting up its handlers. */
const SETUP_WINDOW_MS = 2000;
/** The name runc gives its init process ("runc:[2:INIT]") until it execs the container's. */
const RUNC_INIT_NAME = 'runc:[';
/** rt_sigtimedwait's number (behind sigwait, sigwaitinfo and sigtimedwait), where it is known. */
const RT_SIGTIMEDWAIT: Partial<Record<string, number>> = { x64: 128, arm64: 137 };

/**
 * The kernel drops signals to the first process of a PID namespace unless it catches or blocks
 * them. A stop that arrives while a just-started process is still loading would be lost, and the
 * container would only end at SIGKILL after the whole grace period. So for a PID-1 process
 * started moments ago, wait (briefly) until it catches, blocks or waits for the signal before
 * sending it.
 *
 * A start through the exec fifo ends when runc's init closes the fifo, which it does inside its
 * execve: the process is then still runc's init for a while, with the Go runtime's handlers for
 * every signal, which the exec resets an instant later. Its handlers say nothing until its name
 * is no longer runc's.
 */
export async function waitUntilSignalCanLand(pid: number, pidStart: ProcessStart | undefined, signal: string, startedAtNs: bigint): Promise<void> {
  const number = constants.signals[(signal.startsWith('SIG') ? signal : `SIG${signal}`) as keyof typeof constants.signals];
  if (!pid || !number) return;
  const bit = 1n << BigInt(number - 1);
  const deadline = Number(startedAtNs / 1_000_000n) + SETUP_WINDOW_MS;
  if (Date.now() >= deadline) return;
  // Its /proc files, its memory included, are read only while the pid is the recorded process.
  if ((await checkProcess(pid, pidStart)) !== 'running') return;
  while (Date.now() < deadline) {
    const status = readProcFile(`/proc/${pid}/status`);
    if (!status) return;
    const field = (name: string) => status.split('\n').find((l) => l.startsWith(`${name}:`))?.split(/\s+/).slice(1) ?? [];
    const nspid = field('NSpid');
    if (nspid[nspid.length - 1] !== '1') return; // Not PID 1: the default action applies.
    if (!(field('Name')[0] ?? '').startsWith(RUNC_INIT_NAME)) {
      const caught = BigInt(`0x${field('SigCgt')[0] ?? '0'}`);
      // A blocked signal is queued, not dropped, for the process to take when it waits for it.
      const blocked = BigInt(`0x${field('SigBlk')[0] ?? '0'}`);
      if ((caught | blocked) & bit || waitsFor(pid, bit)) return;
    }
    await sleep(10);
  }
}

/**
 * Whether the process sits in rt_sigtimedwait for the signal, as init programs (tini,
 * dumb-init, cricket's pause) do. While it waits, the kernel lifts the waited signals out of the
 * blocked mask that /proc shows (the real one is kept aside), so only the wait's own set, in the
 * process's memory, tells. A process that lies there only harms the delivery of its own signal.
 */
function waitsFor(pid: number, bit: bigint): boolean {
  const number = RT_SIGTIMEDWAIT[process.arch];
  // "<nr> <arg0> ... <arg5> <sp> <pc>" while blocked in a call; the first argument is the set.
  const [nr, setAddress] = readProcFile(`/proc/${pid}/syscall`).trim().split(' ');
  if (number === undefined || Number(nr) !== number || !setAddress?.startsWith('0x')) return false;
  let fd: number | undefined;
  try {
    fd = openSync(`/proc/${pid}/mem`, 'r');
    const set = Buffer.alloc(8);
    if (readSync(fd, set, 0, 8, BigInt(setAddress)) !== 8) return false;
    return (set.readBigUInt64LE(0) & bit) !== 0n;
  } catch {
    // Gone, or its memory is closed to us (a ptrace policy): the window decides.
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
