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

export class ProgramError extends Error {
  constructor(
    readonly program: string,
    readonly args: readonly string[],
    readonly exitCode: number | undefined,
    readonly stdout: string,
    readonly stderr: string,
    readonly timedOut: boolean,
  ) {
    const what = timedOut ? 'timed out' : `exited with ${exitCode ?? 'a signal'}`;
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
  const drained = (s: Readable | undefined, into: Buffer[]): Promise<void> =>
    s
      ? new Promise((resolve) => {
          s.on('data', (chunk: Buffer) => into.push(chunk));
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
  const [exit] = await Promise.all([child.exited, drained(child.stdout, stdout), drained(child.stderr, stderr)]);
  clearTimeout(timer);
  const out = Buffer.concat(stdout).toString();
  const err = Buffer.concat(stderr).toString();
  if (exit.code === 0 && !timedOut) return { stdout: out, stderr: err };
  throw new ProgramError(program, args, exit.code ?? undefined, out, err, timedOut);
}
