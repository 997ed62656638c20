import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { constants } from 'node:os';
import { syscalls, type Syscalls } from './syscalls.js';

/** How a program ended: its exit code, or the signal that killed it. */
export interface ProgramExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A program started by startProgram: its pipes (when asked for) and its end. */
export interface LightChild {
  pid: number;
  stdin?: Writable;
  stdout?: Readable;
  stderr?: Readable;
  /** Cricket's end of each fd slot: stdio[i] for the child's fd i (undefined: /dev/null). */
  stdio: (Readable | Writable | undefined)[];
  /** Resolves once the program has exited and been reaped. */
  exited: Promise<ProgramExit>;
  /** Signals the program unless it has been reaped already (its pid may then be another's). */
  kill(signal: NodeJS.Signals): void;
}

/**
 * One of the child's fds: 'ignore' is /dev/null; 'pipe' a pipe the child reads (fd 0) or
 * writes (every other fd); 'input' a pipe the child reads at any fd. Cricket's end is a socket.
 */
export type StdioSlot = 'pipe' | 'input' | 'ignore';

export interface LightSpawnOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** The child's fds from 0 up (at least stdin, stdout and stderr). */
  stdio: StdioSlot[];
  /** Starts the program in a session of its own (setsid), as Node's `detached` does. */
  detached?: boolean;
}

const pending = new Map<number, (exit: ProgramExit) => void>();
let watching = false;
let safetyTimer: NodeJS.Timeout | undefined;

const signalNames = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

function signalName(signo: number): NodeJS.Signals | null {
  return signo === 0 ? null : (signalNames.get(signo) ?? null);
}

/** Reaps every finished child this module started; SIGCHLD says one of them (or another) ended. */
function reapFinished(sys: Syscalls): void {
  for (const [pid, done] of pending) {
    let status: [number, number] | undefined;
    try {
      status = sys.waitNoHang(pid);
    } catch {
      // ECHILD: reaped elsewhere; nothing more will be known of it.
      status = [-1, 0];
    }
    if (!status) continue;
    pending.delete(pid);
    done({ code: status[0] >= 0 ? status[0] : null, signal: signalName(status[1]) });
  }
  if (pending.size === 0 && safetyTimer) {
    clearInterval(safetyTimer);
    safetyTimer = undefined;
  }
}

function watchExits(sys: Syscalls): void {
  if (!watching) {
    watching = true;
    process.on('SIGCHLD', () => reapFinished(sys));
  }
  // Signals can be merged; SIGCHLD makes every pending child be checked, and a slow timer
  // covers any notice lost while the handler was being set up. The timer also keeps the event
  // loop alive while a child runs, as Node's own child handles do.
  safetyTimer ??= setInterval(() => reapFinished(sys), 500);
}

function childReads(mode: StdioSlot, fd: number): boolean {
  return mode === 'input' || (mode === 'pipe' && fd === 0);
}

/**
 * Starts a program: through the native addon's posix_spawn when it is loaded, which costs the
 * same whatever the daemon's size, else through Node's spawn. Throws when it cannot be started.
 */
export async function startProgram(program: string, args: readonly string[], opts: LightSpawnOptions): Promise<LightChild> {
  const sys = syscalls();
  return sys?.spawn ? spawnLight(sys, program, args, opts) : spawnWithNode(program, args, opts);
}

async function spawnWithNode(program: string, args: readonly string[], opts: LightSpawnOptions): Promise<LightChild> {
  const child = spawn(program, args, {
    cwd: opts.cwd,
    env: opts.env,
    detached: opts.detached,
    stdio: opts.stdio.map((mode) => (mode === 'input' ? 'pipe' : mode)),
  });
  const exited = new Promise<ProgramExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  if (opts.detached) child.unref();
  const stdio = opts.stdio.map((_, i) => (child.stdio[i] ?? undefined) as Readable | Writable | undefined);
  return {
    pid: child.pid!,
    stdin: child.stdin ?? undefined,
    stdout: child.stdout ?? undefined,
    stderr: child.stderr ?? undefined,
    stdio,
    exited,
    kill: (signal) => void child.kill(signal),
  };
}

async function spawnLight(sys: Syscalls, program: string, args: readonly string[], opts: LightSpawnOptions): Promise<LightChild> {
  // Per stdio slot: the fd the child gets (-1: /dev/null) and the end cricket keeps.
  const slots: { child: number; parent?: number }[] = [];
  let pid: number;
  try {
    opts.stdio.forEach((mode, i) => {
      if (mode === 'ignore') return slots.push({ child: -1 });
      const [r, w] = sys.pipe();
      return slots.push(childReads(mode, i) ? { child: r, parent: w } : { child: w, parent: r });
    });
    const env = Object.entries(opts.env).filter((e): e is [string, string] => e[1] !== undefined).map(([k, v]) => `${k}=${v}`);
    pid = await sys.spawn(program, [program, ...args], env, opts.cwd ?? null, slots.map((slot) => slot.child), opts.detached ?? false);
  } catch (err) {
    for (const slot of slots) {
      if (slot.parent !== undefined) closeSync(slot.parent);
      if (slot.child !== -1) closeSync(slot.child);
    }
    throw err;
  }
  for (const slot of slots) if (slot.child !== -1) closeSync(slot.child);
  const exited = new Promise<ProgramExit>((resolve) => pending.set(pid, resolve));
  watchExits(sys);
  // It may have ended, and its SIGCHLD been handled, before it was in the pending list.
  reapFinished(sys);
  const socket = (i: number): Socket | undefined => {
    const fd = slots[i]!.parent;
    const input = childReads(opts.stdio[i]!, i);
    return fd === undefined ? undefined : new Socket({ fd, readable: !input, writable: input });
  };
  const stdio = slots.map((_, i) => socket(i));
  return {
    pid,
    stdin: stdio[0],
    stdout: stdio[1],
    stderr: stdio[2],
    stdio,
    exited,
    kill(signal) {
      if (pending.has(pid)) {
        try {
          process.kill(pid, signal);
        } catch {
          // Exited between the check and the signal: it is a zombie until reaped, so still ours.
        }
      }
    },
  };
}
