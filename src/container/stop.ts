import { constants } from 'node:os';
import { notFound, withContext } from '../errors.js';
import { signalProcess } from '../process/identity.js';
import { releaseExited } from './release.js';
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
    await waitUntilSignalCanLand(record.pid, record.pidStart, signal, BigInt(record.startedAt));
    // The stop signal goes to the container's first process, as `runc kill` would send it, but
    // straight through a pidfd of the recorded process: one runc run fewer per stop.
    const direct = nodeSignal(signal);
    const sent = direct !== undefined && (await signalProcess(record.pid, record.pidStart, direct).catch(() => false));
    if (!sent) await runtime.kill(id, signal).catch((err) => log.debug({ err }, 'stop signal not delivered'));
    if (await waitForSignalledExit(ctx, id, timeoutSeconds * 1000, signal)) {
      await releaseAfterStop(ctx, id);
      log.info({ step: 'stop', signal, ms: t() }, 'container stopped');
      return;
    }
  }
  // In a PID namespace of its own, SIGKILL to the first process ends them all (the kernel kills
  // the rest of the namespace), which is what `runc kill --all` is for: sent through a pidfd of
  // the recorded process, one runc run fewer. A shared namespace, or a process that is not the
  // recorded one any more, is left to the runtime, which kills by cgroup.
  const direct = record.ownPidNamespace === true && (await signalProcess(record.pid, record.pidStart, 'SIGKILL').catch(() => false));
  if (!direct) await runtime.kill(id, 'KILL', true).catch((err) => log.debug({ err }, 'SIGKILL not delivered'));
  if (!(await waitForSignalledExit(ctx, id, KILL_GRACE_MS, 'SIGKILL'))) {
    throw withContext(`StopContainer ${id}`, new Error(`still running ${KILL_GRACE_MS} ms after SIGKILL`));
  }
  await releaseAfterStop(ctx, id);
  log.info({ step: 'stop', signal: 'SIGKILL', kill: direct ? 'pidfd' : 'runtime', ms: t() }, 'container stopped');
}

/**
 * The stopped container's runc state and mounts are freed before StopContainer answers, as
 * containerd deletes the task before it reports the exit; RemoveContainer is then only files and
 * the record. The exit monitor queued the same release; whichever runs second finds it done.
 */
async function releaseAfterStop(ctx: RuntimeContext, id: string): Promise<void> {
  await ctx.locks.run(id, () => releaseExited(ctx, id)).catch((err) => logger.warn({ container: id, err }, 'releasing a stopped container failed'));
}

/** The stop signal as Node names it ("SIGTERM" from "TERM", "15" or "SIGTERM"); undefined if unknown. */
function nodeSignal(signal: string): NodeJS.Signals | undefined {
  const upper = signal.toUpperCase();
  const name = /^\d+$/.test(upper)
    ? Object.entries(constants.signals).find(([, n]) => n === Number(upper))?.[0]
    : upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return name !== undefined && Object.hasOwn(constants.signals, name) ? (name as NodeJS.Signals) : undefined;
}
