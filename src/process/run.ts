import { execa, type Options } from 'execa';

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
 * through here so that each has a timeout and its stderr ends up in the error.
 */
export async function run(program: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const options: Options = {
    timeout: opts.timeoutMs ?? 60_000,
    killSignal: 'SIGKILL',
    reject: false,
    stripFinalNewline: false,
    input: opts.input,
    env: opts.env,
    extendEnv: !opts.replaceEnv,
    cwd: opts.cwd,
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
    ...(opts.detachedStdio ? { stdout: 'ignore' as const, stderr: 'ignore' as const } : {}),
  };
  const result = await execa(program, args, options);
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  if (result.failed || result.exitCode !== 0) {
    throw new ProgramError(program, args, result.exitCode, stdout, stderr, result.timedOut === true);
  }
  return { stdout, stderr };
}
