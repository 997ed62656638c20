import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
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

/**
 * Starts conmon, the per-container monitor: it runs `runc create`, holds the container's stdio,
 * writes its output to the CRI log and its exit code to `<exitDir>/<id>`, and outlives cricket.
 * conmon reports the container's pid (or runc's error) as JSON on the sync pipe, fd 3.
 */
export async function createWithConmon(conmon: string, opts: ConmonCreateOptions): Promise<ConmonCreated> {
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

  // conmon in a session of its own, its sync pipe as fd 3.
  const child = await startProgram(conmon, args, { env: { ...process.env, _OCI_SYNCPIPE: '3' }, stdio: ['ignore', 'ignore', 'pipe', 'pipe'], detached: true });
  const syncPipe = child.stdio[3] as Readable;
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

  const message = await new Promise<{ data: number; message?: string }>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      syncPipe.destroy();
      void killConmon(child.pid, opts.bundle).finally(() =>
        reject(new Error(`conmon gave no container pid within ${opts.timeoutMs} ms${stderr ? `: ${stderr.trim()}` : ''}`)),
      );
    }, opts.timeoutMs);
    const finish = (err: Error | undefined, value?: { data: number; message?: string }) => {
      clearTimeout(timer);
      syncPipe.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    syncPipe.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      try {
        finish(undefined, JSON.parse(buffered) as { data: number; message?: string });
      } catch {
        // Incomplete JSON: wait for the rest.
      }
    });
    syncPipe.on('close', () => finish(new Error(`conmon exited without reporting a pid${stderr ? `: ${stderr.trim()}` : ''}`)));
    syncPipe.on('error', (err) => finish(err));
  });
  if (message.data < 0) {
    throw new Error(`runc create failed under conmon: ${(message.message ?? stderr).trim()}`);
  }
  const conmonPid = Number.parseInt(await readFile(join(opts.bundle, 'conmon.pid'), 'utf8').catch(() => '0'), 10);
  return { containerPid: message.data, conmonPid };
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
