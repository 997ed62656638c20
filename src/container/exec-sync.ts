import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CricketError, failedPrecondition, withContext } from '../errors.js';
import { checkProcess } from '../process/identity.js';
import { logger, stopwatch } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import { startExec } from './exec.js';

/** Per stream, as containerd caps ExecSync output: the rest is read and dropped. */
export const EXEC_SYNC_OUTPUT_CAP = 16 * 1024 * 1024;
/**
 * kubelet receives CRI messages of at most 16 MiB: stdout and stderr together stay below that
 * (stderr keeps at least half of it when both are large), so a reply always reaches kubelet.
 */
export const EXEC_SYNC_REPLY_LIMIT = 16 * 1024 * 1024 - 1024;

/** Trims the two outputs to fit one reply. */
export function fitReply(stdout: Buffer, stderr: Buffer, limit = EXEC_SYNC_REPLY_LIMIT): [Buffer, Buffer] {
  if (stdout.length + stderr.length <= limit) return [stdout, stderr];
  const errLen = Math.min(stderr.length, Math.max(limit - stdout.length, Math.floor(limit / 2)));
  const outLen = Math.min(stdout.length, limit - errLen);
  return [stdout.subarray(0, outLen), stderr.subarray(0, errLen)];
}

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

/** Reads a stream to its end, keeping at most `cap` bytes. */
function capture(stream: Readable, cap: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    stream.on('data', (chunk: Buffer) => {
      if (kept >= cap) return;
      const part = chunk.length > cap - kept ? chunk.subarray(0, cap - kept) : chunk;
      chunks.push(part);
      kept += part.length;
    });
    stream.on('error', () => resolve(Buffer.concat(chunks)));
    stream.on('close', () => resolve(Buffer.concat(chunks)));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/**
 * ExecSync: runs `cmd` in a running container and returns its output and exit code. With a
 * timeout, the process is killed when it runs out and the call fails with DEADLINE_EXCEEDED
 * ("timeout Ns exceeded"), which kubelet reports as a timed-out probe.
 */
export async function execSync(
  ctx: RuntimeContext,
  containerId: string,
  cmd: string[],
  timeoutSeconds: number,
  cap = EXEC_SYNC_OUTPUT_CAP,
): Promise<ExecSyncResult> {
  const t = stopwatch();
  const proc = await startExec(ctx, containerId, cmd, { tty: false, stdin: false });
  const stdout = capture(proc.stdout, cap);
  const stderr = capture(proc.stderr!, cap);
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  if (timeoutSeconds > 0) {
    timer = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, timeoutSeconds * 1000);
  }
  try {
    let exitCode: number;
    try {
      exitCode = await proc.exited;
    } catch (err) {
      // The container or its pod may have stopped while runc was entering it (its namespaces'
      // holders gone): that is the container's state, not a fault of cricket's.
      const record = ctx.containers.find(containerId);
      const pod = record && ctx.sandboxes.get(record.sandboxId);
      const pauseGone = pod?.pausePid ? (await checkProcess(pod.pausePid, pod.pauseStart)) !== 'running' : false;
      // The exit monitor may not have recorded an exit that happened a moment ago.
      const processGone = record?.pid && record.pidStart ? (await checkProcess(record.pid, record.pidStart)) !== 'running' : false;
      if (record?.state !== 'running' || pod?.state !== 'ready' || pauseGone || processGone) {
        throw failedPrecondition(`ExecSync in container ${containerId}: the container or its pod stopped (${processGone ? 'its process ended' : record?.state ?? 'removed'}, pod ${pauseGone ? 'pause gone' : pod?.state ?? 'removed'}): ${(err as Error).message}`);
      }
      throw withContext(`ExecSync in container ${containerId}`, err);
    }
    if (timedOut) {
      throw new CricketError(
        'deadline-exceeded',
        `ExecSync in container ${containerId}: timeout ${timeoutSeconds}s exceeded: command ${JSON.stringify(cmd)} was killed`,
      );
    }
    // The process has exited: what it wrote is in the pipes unless a child of it still holds
    // them; wait for that only briefly.
    const drained = await Promise.race([
      Promise.all([stdout, stderr]),
      sleep(2000, undefined, { ref: false }),
    ]);
    if (!drained) {
      proc.stdout.destroy();
      proc.stderr!.destroy();
    }
    const [out, err] = fitReply(...(drained ?? (await Promise.all([stdout, stderr]))));
    logger.debug({ container: containerId, exec: proc.id, exitCode, ms: t() }, 'exec sync done');
    return { stdout: out, stderr: err, exitCode };
  } finally {
    if (timer) clearTimeout(timer);
    if (timedOut) {
      proc.stdout.destroy();
      proc.stderr!.destroy();
    }
  }
}
