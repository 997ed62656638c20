import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CricketError, failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { logger, stopwatch } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import { CTL_REOPEN_LOGS, writeConmonCtl } from './io-helper.js';

const REOPEN_TIMEOUT_MS = 5000;

async function inode(path: string): Promise<bigint | undefined> {
  try {
    return (await stat(path, { bigint: true })).ino;
  } catch {
    return undefined;
  }
}

/**
 * ReopenContainerLog: kubelet has renamed the container's log and asks for a new one at the
 * same path. conmon does it on a "2" message on its ctl FIFO (it opens `<log>.tmp` and renames
 * it over the log path, between two writes, so no line is lost or written twice). The call
 * returns once the new file is in place, so kubelet may compress the old one straight away.
 * A container that is not running has no log to reopen: FAILED_PRECONDITION, no file made.
 */
export async function reopenContainerLog(ctx: RuntimeContext, containerId: string): Promise<void> {
  if (!containerId) throw invalidArgument('container_id is required');
  const record = ctx.containers.find(containerId);
  if (!record) throw notFound(`container ${containerId} not found`);
  if (record.state !== 'running') {
    throw failedPrecondition(`container ${record.id} is not running (state ${record.state}): no log to reopen`);
  }
  const t = stopwatch();
  const bundle = ctx.paths.containerDir(record.id);
  const logPath = record.logPath || join(bundle, 'output.log');
  const before = await inode(logPath);
  try {
    await writeConmonCtl(bundle, CTL_REOPEN_LOGS);
  } catch (err) {
    throw new CricketError('failed-precondition', `container ${record.id}: its monitor does not take commands: ${(err as Error).message}`);
  }
  const deadline = Date.now() + REOPEN_TIMEOUT_MS;
  for (;;) {
    const now = await inode(logPath);
    if (now !== undefined && now !== before) break;
    // The container may have ended meanwhile, and conmon with it: then there is nothing to reopen.
    const current = ctx.containers.get(record.id);
    if (current?.state !== 'running') {
      throw failedPrecondition(`container ${record.id} stopped (state ${current?.state ?? 'removed'}) before its log was reopened`);
    }
    if (Date.now() > deadline) {
      await ctx.exits.collect(record.id).catch(() => undefined);
      const after = ctx.containers.get(record.id);
      if (after?.state !== 'running') throw failedPrecondition(`container ${record.id} stopped (state ${after?.state ?? 'removed'}) before its log was reopened`);
      throw new CricketError('deadline-exceeded', `container ${record.id}: conmon did not reopen ${logPath} within ${REOPEN_TIMEOUT_MS} ms`);
    }
    await sleep(5);
  }
  logger.info({ container: record.id, pod: record.sandboxId, ms: t() }, 'container log reopened');
}
