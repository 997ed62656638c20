import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { failedPrecondition } from '../errors.js';
import { logger } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import type { ContainerRecord } from '../store/types.js';
import { runningContainer } from './exec.js';
import { CTL_WIN_RESIZE, ioHelper, writeConmonCtl } from './io-helper.js';

export interface AttachOptions {
  stdin: boolean;
  tty: boolean;
}

/** A connection to the stdio conmon holds for a running container. */
export interface AttachSession {
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves when the container's output ends (it exited) or the session was closed. */
  readonly done: Promise<void>;
  resize(width: number, height: number): void;
  close(): void;
}

/** The container's stdin/tty settings, from the ContainerConfig kept in its record. */
export function containerStdio(record: ContainerRecord): { stdin: boolean; tty: boolean } {
  const config = (record.config ?? {}) as { stdin?: boolean; tty?: boolean };
  return { stdin: config.stdin === true, tty: config.tty === true };
}

/**
 * Attach: cricket-io connects to conmon's attach socket (`<bundle>/attach`, SOCK_SEQPACKET)
 * and relays it as plain stdout/stderr pipes; resizes go to conmon's `ctl` FIFO. The
 * container's stdin is used only if the container was created with stdin.
 */
export async function attachContainer(ctx: RuntimeContext, containerId: string, opts: AttachOptions): Promise<AttachSession> {
  const record = runningContainer(ctx, containerId);
  const bundle = ctx.paths.containerDir(record.id);
  await stat(join(bundle, 'attach')).catch(() => {
    throw failedPrecondition(`container ${record.id} has no attach socket: its monitor is not running`);
  });
  const own = containerStdio(record);
  const withStdin = opts.stdin && own.stdin;
  const child = spawn(ioHelper(), ['attach', bundle, ...(withStdin ? ['--stdin'] : [])], {
    stdio: [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  child.stdin?.on('error', () => undefined);
  let diagnostics = '';
  (child.stdio[3] as Readable).on('data', (c: Buffer) => (diagnostics += c.toString()));
  const log = logger.child({ container: record.id });
  const done = new Promise<void>((resolve) => {
    child.on('close', (code) => {
      if (code !== 0 && diagnostics) log.warn({ err: diagnostics.trim() }, 'attach ended with an error');
      resolve();
    });
    child.on('error', (err) => {
      log.warn({ err }, 'attach helper failed');
      resolve();
    });
  });
  return {
    stdin: child.stdin ?? null,
    stdout: child.stdout!,
    stderr: child.stderr!,
    done,
    resize(width, height) {
      if (!own.tty || width <= 0 || height <= 0) return;
      writeConmonCtl(bundle, CTL_WIN_RESIZE, Math.floor(height), Math.floor(width)).catch((err: Error) =>
        log.debug({ err: err.message }, 'resize not delivered'),
      );
    },
    close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
