import { notFound, withContext } from '../errors.js';
import { logger, stopwatch } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import { runtimeOf } from './runtime-of.js';
import { waitForSignalledExit } from './lost-monitor.js';
import { waitUntilSignalCanLand } from './signal-readiness.js';

/** How long a SIGKILLed container may take to be reported gone before the call fails. */
const KILL_GRACE_MS = 10_000;

/**
 * StopContainer: the image's stop signal (SIGTERM by default), up to `timeoutSeconds` for the
 * process to end, then SIGKILL to everything in the container. Stopping a stopped container is
 * not an error.
 */
export async function stopContainer(
  ctx: RuntimeContext,
  containerId: string,
  timeoutSeconds: number,
): Promise<void> {
  const found = ctx.containers.find(containerId);
  if (!found) throw notFound(`container ${containerId} not found`);
  const id = found.id;
  const t = stopwatch();
  const record = ctx.containers.get(id);
  if (!record || record.state === 'exited' || record.state === 'unknown') return;
  const log = logger.child({ pod: record.sandboxId, container: id });
  const runtime = runtimeOf(ctx, record);
  if (timeoutSeconds > 0) {
    const signal = record.stopSignal || 'SIGTERM';
    await waitUntilSignalCanLand(record.pid, signal, BigInt(record.startedAt));
    await runtime.kill(id, signal).catch((err) => log.debug({ err }, 'stop signal not delivered'));
    if (await waitForSignalledExit(ctx, id, timeoutSeconds * 1000, signal)) {
      log.info({ step: 'stop', signal, ms: t() }, 'container stopped');
      return;
    }
  }
  await runtime.kill(id, 'KILL', true).catch((err) => log.debug({ err }, 'SIGKILL not delivered'));
  if (!(await waitForSignalledExit(ctx, id, KILL_GRACE_MS, 'SIGKILL'))) {
    throw withContext(`StopContainer ${id}`, new Error(`still running ${KILL_GRACE_MS} ms after SIGKILL`));
  }
  log.info({ step: 'stop', signal: 'SIGKILL', ms: t() }, 'container stopped');
}
