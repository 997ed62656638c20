import type { Readable } from 'node:stream';
import { startProgram, type LightChild } from './light-spawn.js';

/** Result of an external program that exited 0. */
export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Milliseconds before the program is killed (SIGKILL) and the call fails. */
  timeoutMs?: number;
  input?: string;
  env?: Record<string, string>;
  /** Replace the environment instead of extending cricket's own. */
  replaceEnv?: boolean;
  cwd?: string;
  /**
   * Give the program /dev/null as stdout and stderr: for programs whose children inherit them
   * and live on (runc run --detach), which would otherwise keep the pipes, and the call, open.
   */
  detachedStdio?: boolean;
}

/**
 * What is kept of a program's stdout and of its stderr. The programs run here answer in a few
 * kilobytes (a CNI result, runc's state or error); one that goes on writing (a plugin stuck in a
 * loop) is stopped there instead of filling the daemon's memory until its timeout.
 */
export const MAX_CAPTURED_BYTES = 8 * 1024 * 1024;

export type OutputStream = 'stdout' | 'stderr';

/** What a program killed at the bound did, as errors say it. */
export function overflowReason(stream: OutputStream): string {
  return `wrote more than ${MAX_CAPTURED_BYTES / 1048576} MiB to ${stream} and was killed`;
}

export class ProgramError extends Error {
  constructor(
    readonly program: string,
    readonly args: readonly string[],
    readonly exitCode: number | undefined,
    readonly stdout: string,
    readonly stderr: string,
    readonly timedOut: boolean,
    /** The stream the program wrote more to than is kept, and was killed for. */
    readonly overflowed?: OutputStream,
  ) {
    const what = overflowed
      ? overflowReason(overflowed)
      : timedOut ? 'timed out' : `exited with ${exitCode ?? 'a signal'}`;
    const detail = stderr.trim() || stdout.trim();
    super(`${program} ${args.slice(0, 3).join(' ')} ${what}${detail ? `: ${detail}` : ''}`);
    this.name = 'ProgramError';
  }
}

/**
 * Runs an external program to completion. Every runc, CNI plugin, mount or tar call goes
 * through here so that each has a timeout and its stderr ends up in the error. Plain spawn,
 * no shell and no wrapper library: these calls sit on the pod start path.
 */
export async function run(program: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const env = opts.replaceEnv ? (opts.env ?? {}) : opts.env ? { ...process.env, ...opts.env } : process.env;
  let child: LightChild;
  try {
    child = await startProgram(program, args, {
      env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', opts.detachedStdio ? 'ignore' : 'pipe', opts.detachedStdio ? 'ignore' : 'pipe'],
    });
  } catch (err) {
    throw new ProgramError(program, args, undefined, '', err instanceof Error ? err.message : String(err), false);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 60_000);
  let overflowed: OutputStream | undefined;
  const drained = (s: Readable | undefined, into: Buffer[], name: OutputStream): Promise<void> =>
    s
      ? new Promise((resolve) => {
          let kept = 0;
          s.on('data', (chunk: Buffer) => {
            if (overflowed) return;
            kept += chunk.length;
            if (kept <= MAX_CAPTURED_BYTES) {
              into.push(chunk);
              return;
            }
            overflowed = name;
            child.kill('SIGKILL');
            // A child of the program's may hold the pipes too: ours are closed, so that its next
            // write fails and the call ends now.
            child.stdout?.destroy();
            child.stderr?.destroy();
          });
          s.on('error', () => resolve());
          s.on('close', () => resolve());
        })
      : Promise.resolve();
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  if (child.stdin) {
    child.stdin.on('error', () => undefined); // A program that exits without reading its input.
    child.stdin.end(opts.input ?? '');
  }
  const [exit] = await Promise.all([child.exited, drained(child.stdout, stdout, 'stdout'), drained(child.stderr, stderr, 'stderr')]);
  clearTimeout(timer);
  const out = Buffer.concat(stdout).toString();
  const err = Buffer.concat(stderr).toString();
  if (exit.code === 0 && !timedOut && !overflowed) return { stdout: out, stderr: err };
  // The message carries the program's own words, the start of them for one that overflowed.
  const clip = (text: string) => (overflowed && text.length > 4096 ? `${text.slice(0, 4096)}…` : text);
  throw new ProgramError(program, args, exit.code ?? undefined, clip(out), clip(err), timedOut, overflowed);
}
