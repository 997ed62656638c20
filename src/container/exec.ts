import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CricketError, failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { logger } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import { runtimeOf } from './runtime-of.js';
import { startProgram } from '../process/light-spawn.js';
import { ioHelper } from './io-helper.js';

export interface ExecOptions {
  tty: boolean;
  /** Give the process a stdin the caller writes to (otherwise /dev/null). */
  stdin: boolean;
  /** The terminal's size from the start (runc's process.consoleSize). */
  size?: { width: number; height: number };
}

/** A process started with `runc exec` in a running container. */
export interface ExecProcess {
  readonly id: string;
  /** null unless ExecOptions.stdin. */
  readonly stdin: Writable | null;
  /** The process's stdout; with a TTY, the terminal's output. */
  readonly stdout: Readable;
  /** null with a TTY (the terminal merges both streams). */
  readonly stderr: Readable | null;
  /** Resolves with the process's pid once runc has started it; rejects when runc failed. */
  readonly started: Promise<number>;
  /** Resolves with the exit code (128+N for signal N); rejects when runc failed. */
  readonly exited: Promise<number>;
  resize(width: number, height: number): void;
  /** Signals the exec'd process (SIGKILL by default); no-op before start or after exit. */
  kill(signal?: NodeJS.Signals): void;
}

/** runc failed to start the process: the message is runc's own. */
export class ExecStartError extends CricketError {
  constructor(message: string) {
    super('internal', message);
    this.name = 'ExecStartError';
  }
}

/** The running container of an exec, attach or ExecSync call, or the error to answer with. */
export function runningContainer(ctx: RuntimeContext, containerId: string) {
  if (!containerId) throw invalidArgument('container_id is required');
  const record = ctx.containers.find(containerId);
  if (!record) throw notFound(`container ${containerId} not found`);
  if (record.state !== 'running') {
    throw failedPrecondition(`container ${record.id} is not running (state ${record.state}): cannot exec or attach`);
  }
  return record;
}

/**
 * The process spec of an exec: the container's own process (user, env, cwd, capabilities,
 * rlimits, no_new_privileges) from its bundle's config.json, with the command and terminal
 * of the request.
 */
export async function execProcessSpec(
  bundle: string,
  cmd: string[],
  tty: boolean,
  size?: { width: number; height: number },
): Promise<Record<string, unknown>> {
  const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { process?: Record<string, unknown> };
  const process: Record<string, unknown> = { ...(spec.process ?? {}) };
  delete process.consoleSize;
  if (tty && size && size.width > 0 && size.height > 0) process.consoleSize = { height: size.height, width: size.width };
  return { ...process, args: cmd, terminal: tty };
}

/**
 * Starts `cmd` in a running container through cricket-io, which runs `runc exec --detach` as a
 * child subreaper: the process joins the container's namespaces and cgroup, and its exit
 * status comes back over the helper's status pipe.
 */
export async function startExec(ctx: RuntimeContext, containerId: string, cmd: string[], opts: ExecOptions): Promise<ExecProcess> {
  if (cmd.length === 0 || !cmd[0]) throw invalidArgument('cmd is required');
  const record = runningContainer(ctx, containerId);
  const id = record.id;
  const bundle = ctx.paths.containerDir(id);
  const runtime = runtimeOf(ctx, record);
  // `runc exec` moves the new process into the container's cgroups.
  ctx.cgroupLock.prime();
  const execId = randomBytes(6).toString('hex');
  const specFile = join(bundle, `exec-${execId}.json`);
  const pidFile = join(bundle, `exec-${execId}.pid`);
  await writeFile(specFile, JSON.stringify(await execProcessSpec(bundle, cmd, opts.tty, opts.size)), { mode: 0o600 });
  const runcArgs = [
    ...runtime.command, '--root', runtime.rootDir, 'exec', '--process', specFile, '--detach', '--pid-file', pidFile,
    ...(opts.tty ? ['--console-socket', '@CONSOLE@'] : []), id,
  ];
  const helperArgs = ['exec', ...(opts.tty ? ['--tty'] : []), bundle, pidFile, '--', ...runcArgs];
  // cricket-io reports on fd 3 and takes terminal sizes on fd 4.
  const child = await startProgram(ioHelper(), helperArgs, { env: process.env, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe', 'input'] });
  void child.exited.catch(() => undefined);
  const log = logger.child({ container: id, exec: execId });
  const status = child.stdio[3] as Readable;
  const control = child.stdio[4] as Writable;
  control.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);

  // Without a TTY, runc's own error shares the process's stderr: hold stderr back until the
  // process is known to have started, and treat it as runc's message if it did not.
  const stderr = opts.tty ? null : new PassThrough();
  const held: Buffer[] = [];
  let heldBytes = 0;
  let releasing = false;
  let diagnostics = '';
  if (opts.tty) {
    child.stderr!.on('data', (c: Buffer) => {
      if (diagnostics.length < 16_384) diagnostics += c.toString();
    });
  } else {
    child.stderr!.on('data', (c: Buffer) => {
      if (releasing) return;
      held.push(c);
      heldBytes += c.length;
      if (heldBytes > 1 << 20) child.stderr!.pause();
    });
  }

  let pid = 0;
  let pendingSignal: NodeJS.Signals | undefined;
  let exitCode: number | undefined;
  let failure: string | undefined;
  let resolveStarted!: (pid: number) => void;
  let rejectStarted!: (err: Error) => void;
  const started = new Promise<number>((resolve, reject) => {
    resolveStarted = resolve;
    rejectStarted = reject;
  });
  started.catch(() => undefined);

  const signalProcess = (signal: NodeJS.Signals) => {
    if (pid <= 0 || exitCode !== undefined) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  };

  let buffered = '';
  status.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('started ')) {
        pid = Number.parseInt(line.slice(8), 10);
        if (stderr) {
          releasing = true;
          for (const c of held) stderr.write(c);
          held.length = 0;
          child.stderr!.pipe(stderr);
          child.stderr!.resume();
        }
        resolveStarted(pid);
        if (pendingSignal) signalProcess(pendingSignal);
      } else if (line.startsWith('exit ')) {
        exitCode = Number.parseInt(line.slice(5), 10);
      } else if (line.startsWith('error ')) {
        failure = line.slice(6);
      }
    }
  });

  // The status pipe ends when the helper does; only the helper holds it.
  const exited = new Promise<number>((resolve, reject) => {
    let settled = false;
    const finish = async () => {
      if (settled) return;
      settled = true;
      // Leftovers in the bundle are harmless; an error here must not become an unhandled rejection.
      void rm(specFile, { force: true }).catch(() => undefined);
      void rm(pidFile, { force: true }).catch(() => undefined);
      if (exitCode !== undefined) {
        resolve(exitCode);
        return;
      }
      // runc failed: its message is what stderr still brings (nobody else holds it now).
      if (!child.stderr!.readableEnded) {
        await Promise.race([new Promise((r) => child.stderr!.once('close', r)), sleep(1000)]);
      }
      const runcMessage = (opts.tty ? diagnostics : Buffer.concat(held).toString()).trim();
      const err = new ExecStartError(`OCI runtime exec failed: ${runcMessage || failure || 'cricket-io ended without a status'}`);
      log.debug({ err: err.message }, 'exec did not start');
      if (stderr && !releasing) stderr.end();
      rejectStarted(err);
      reject(err);
    };
    status.on('close', () => void finish());
  });
  exited.catch(() => undefined);

  return {
    id: execId,
    stdin: child.stdin ?? null,
    stdout: child.stdout!,
    stderr,
    started,
    exited,
    resize(width, height) {
      if (!opts.tty || !control.writable) return;
      if (width > 0 && height > 0) control.write(`${Math.floor(height)} ${Math.floor(width)}\n`);
    },
    kill(signal = 'SIGKILL') {
      // Before runc has reported the pid, the signal waits for it.
      if (pid === 0) pendingSignal = signal;
      else signalProcess(signal);
    },
  };
}

