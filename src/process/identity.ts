import { closeSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseProcStat, type ProcStat } from './proc-stat.js';
import { syscalls } from './syscalls.js';

/**
 * What, next to its pid, names one process for good: pids are reused, but a pid with its start
 * time (clock ticks after boot) in the same boot is never seen twice.
 */
export interface ProcessStart {
  startTime: number;
  bootId: string;
}

/** How a recorded process stands now. */
export type ProcessCheck =
  /** Still the recorded process, and not yet exited. */
  | 'running'
  /** The recorded process has exited; its parent has not reaped it yet. */
  | 'zombie'
  /** No process with that pid, or another process (pid reused, or a reboot since). */
  | 'gone';

let cachedBootId: string | undefined;

/** The kernel's id of this boot: the start times of processes of an earlier boot mean nothing. */
export function bootId(): string {
  cachedBootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return cachedBootId;
}

/**
 * Reads a small file the kernel makes up on the spot (/proc). Read synchronously on purpose: it
 * never waits for a disk, takes microseconds, and an fs.promises readFile would cost four trips
 * through the thread pool (open, stat, read, close) on calls kubelet makes every second.
 */
export function readProcFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const text = readProcFile(`/proc/${pid}/stat`);
  const stat = parseProcStat(text);
  return stat?.pid === pid ? stat : undefined;
}

/** The start stamp of a live process, recorded with its pid when cricket learns of it. */
export async function processStart(pid: number): Promise<ProcessStart | undefined> {
  const stat = await readProcStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return undefined;
  return { startTime: stat.startTime, bootId: bootId() };
}

/** One /proc read: is `pid` still the process that started at `start`? */
export async function checkProcess(pid: number, start: ProcessStart | undefined): Promise<ProcessCheck> {
  if (!start || start.bootId !== bootId()) return 'gone';
  const stat = await readProcStat(pid);
  if (!stat || stat.startTime !== start.startTime) return 'gone';
  return stat.state === 'Z' || stat.state === 'X' ? 'zombie' : 'running';
}

/**
 * Sends `signal` to `pid` only if it is still the recorded process. Returns whether it was sent.
 * A pidfd is taken first and the start time checked after: the pidfd then names the checked
 * process, and the signal cannot reach another one even if the pid is reused in between. Without
 * the native addon it is check, then kill(2): the recorded process would have to exit, be reaped
 * and its pid be handed out again within microseconds for that to go wrong.
 */
export async function signalProcess(pid: number, start: ProcessStart | undefined, signal: NodeJS.Signals): Promise<boolean> {
  const sys = syscalls();
  if (!sys) {
    if ((await checkProcess(pid, start)) !== 'running') return false;
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
  let fd: number;
  try {
    fd = sys.pidfdOpen(pid);
  } catch {
    return false; // ESRCH: no such process.
  }
  try {
    if ((await checkProcess(pid, start)) !== 'running') return false;
    sys.pidfdSendSignal(fd, constants.signals[signal]);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Waits until the recorded process has exited (zombie or gone); false if it still runs at the deadline. */
export async function waitProcessExit(pid: number, start: ProcessStart | undefined, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await checkProcess(pid, start)) !== 'running') return true;
    if (Date.now() >= deadline) return false;
    await sleep(1);
  }
}
