import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { startProgram } from '../process/light-spawn.js';

export interface ConmonCreateOptions {
  containerId: string;
  name: string;
  bundle: string;
  /** Absolute CRI log path; conmon writes the CRI log format there. */
  logPath: string;
  exitDir: string;
  /** Where conmon links the container's attach socket. */
  socketDir: string;
  /** The runtime's command: its program, then leading arguments (a launcher's). */
  runtimeCommand: string[];
  runcRoot: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  timeoutMs: number;
  /** CRIU images to restore from (`runc restore --detach`) instead of `runc create`. */
  restoreFrom?: string;
}

export interface ConmonCreated {
  containerPid: number;
  conmonPid: number;
}

/** A conmon started and waiting on its start pipe, before it has run the runtime. */
export interface WaitingConmon {
  /** Lets conmon run `runc create` (or restore); resolves with the pids once conmon reports. */
  proceed(): Promise<ConmonCreated>;
  /** Ends a conmon that was never told to proceed; after proceed() it does nothing. */
  abandon(): Promise<void>;
}

/**
 * Starts the per-container monitor, cricket-monitor or conmon (the same options and protocols;
 * "conmon" below is either): it runs `runc create`, holds the container's stdio,
 * writes its output to the CRI log and its exit code to `<exitDir>/<id>`, and outlives cricket.
 * conmon reports the container's pid (or runc's error) as JSON on the sync pipe, fd 3.
 *
 * conmon first blocks reading its start pipe, fd 4, so it can be started while the rootfs and
 * the spec are still being made, and its own start-up (a program with its libraries to load)
 * overlaps that work. If cricket dies before writing, the monitor reads end of file: cricket's
 * own then ends having run nothing, conmon goes on and the runtime finds a whole config.json
 * (written by rename) or none, and fails.
 */
export async function startConmon(conmon: string, opts: ConmonCreateOptions): Promise<WaitingConmon> {
  const args = [
    '--api-version', '1',
    '--cid', opts.containerId,
    '--cuuid', opts.containerId,
    '--name', opts.name,
    '--bundle', opts.bundle,
    '--runtime', opts.runtimeCommand[0]!,
    // conmon puts runtime arguments before the runtime's subcommand, as global options go.
    ...opts.runtimeCommand.slice(1).flatMap((arg) => ['--runtime-arg', arg]),
    '--runtime-arg', `--root=${opts.runcRoot}`,
    '--container-pidfile', join(opts.bundle, 'pid'),
    '--conmon-pidfile', join(opts.bundle, 'conmon.pid'),
    '--log-path', `k8s-file:${opts.logPath}`,
    '--exit-dir', opts.exitDir,
    '--socket-dir-path', opts.socketDir,
    '--log-level', 'error',
  ];
  if (opts.stdin) args.push('--stdin');
  if (opts.stdin && !opts.stdinOnce) args.push('--leave-stdin-open');
  if (opts.tty) args.push('--terminal');
  // Dumped with --file-locks, so restored with it.
  if (opts.restoreFrom) args.push('--restore', opts.restoreFrom, '--runtime-opt', '--file-locks');

  // conmon in a session of its own, its sync pipe as fd 3 and its start pipe as fd 4. It takes
  // its locale from the environment first thing: "C" is built in, where a UTF-8 locale with no
  // locale archive is a dozen files read on every container's start.
  const child = await startProgram(conmon, args, {
    env: { ...process.env, LC_ALL: 'C', _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4' },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'input'],
    detached: true,
  });
  const syncPipe = child.stdio[3] as Readable;
  const startPipe = child.stdio[4] as Writable;
  // A conmon that ended early makes the write fail; its closed sync pipe says why.
  startPipe.on('error', () => undefined);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const withStderr = (what: string) => `${what}${stderr ? `: ${stderr.trim()}` : ''}`;

  // Listened to from the start, so that a conmon that fails before proceed() is not missed.
  let settle: (outcome: { data: number; message?: string } | Error) => void = () => undefined;
  const outcome = new Promise<{ data: number; message?: string } | Error>((resolve) => (settle = resolve));
  let buffered = '';
  syncPipe.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    try {
      settle(JSON.parse(buffered) as { data: number; message?: string });
    } catch {
      // Incomplete JSON: wait for the rest.
    }
  });
  syncPipe.on('close', () => settle(new Error(withStderr('the container monitor exited without reporting a pid'))));
  syncPipe.on('error', (err) => settle(err));

  let told = false;
  return {
    async proceed() {
      told = true;
      startPipe.end('go');
      // conmon's first process writes the monitor's pid file and exits once it has forked the
      // monitor, long before runc is done: the file is read meanwhile, not after the report.
      const monitorPid = child.exited
        .then(() => readFile(join(opts.bundle, 'conmon.pid'), 'utf8'))
        .catch(() => '0')
        .then((text) => Number.parseInt(text, 10));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), opts.timeoutMs)));
      const message = await Promise.race([outcome, timedOut]);
      clearTimeout(timer);
      syncPipe.destroy();
      if (message === 'timeout') {
        await killConmon(child.pid, opts.bundle);
        throw new Error(withStderr(`the container monitor gave no container pid within ${opts.timeoutMs} ms`));
      }
      if (message instanceof Error) throw message;
      if (message.data < 0) {
        throw new Error(`runc create failed under the container monitor: ${(message.message ?? stderr).trim()}`);
      }
      return { containerPid: message.data, conmonPid: await monitorPid };
    },
    async abandon() {
      if (told) return;
      told = true;
      // Still cricket's own child, blocked on its start pipe: it has forked nothing yet.
      child.kill('SIGKILL');
      startPipe.destroy();
      syncPipe.destroy();
      await child.exited;
    },
  };
}

/**
 * Ends a conmon that never reported: the process cricket started (and its process group) and
 * the monitor it forked off (its pid file). `runc create` under it then sees its pipes close and
 * ends too, and the caller's `runc delete --force` removes what it made.
 */
async function killConmon(pid: number | undefined, bundle: string): Promise<void> {
  const kill = (target: number) => {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  if (pid) {
    kill(-pid);
    kill(pid);
  }
  const monitor = Number.parseInt(await readFile(join(bundle, 'conmon.pid'), 'utf8').catch(() => '0'), 10);
  // Written moments ago by the conmon just started: it cannot name another process yet.
  if (monitor > 1) kill(monitor);
}
