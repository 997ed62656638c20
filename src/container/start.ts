import { containerProcessUser } from './process-user.js';
import { failedPrecondition, notFound, withContext } from '../errors.js';
import { logger } from '../log/logger.js';
import { StepTimeline } from '../store/step-timeline.js';
import type { RuntimeContext } from '../runtime-context.js';
import { runtimeOf } from './runtime-of.js';
import { nowNs } from '../store/clock.js';

/**
 * StartContainer. Under the pod's lock, then the container's: a container is never started in
 * a pod that a concurrent StopPodSandbox has just stopped.
 */
export async function startContainer(ctx: RuntimeContext, containerId: string): Promise<void> {
  const found = ctx.containers.find(containerId);
  if (!found) throw notFound(`container ${containerId} not found`);
  const id = found.id;
  await ctx.locks.run(found.sandboxId, () =>
    ctx.locks.run(id, async () => {
      const record = ctx.containers.get(id);
      if (!record) throw notFound(`container ${containerId} not found`);
      if (record.state !== 'created') {
        throw failedPrecondition(`container ${id} is ${record.state}, only a created container can be started`);
      }
      const sandbox = ctx.sandboxes.get(record.sandboxId);
      if (sandbox?.state !== 'ready') {
        throw failedPrecondition(`container ${id}: pod sandbox ${record.sandboxId} is not ready (${sandbox?.state ?? 'removed'})`);
      }
      const timeline = new StepTimeline();
      const endStart = timeline.begin('start');
      // The process begins during `runc start`; its start time is taken before, so that a process
      // that exits at once never looks as if it ended before it began.
      const startedAt = nowNs();
      // A restored container's processes were brought back by `runc restore`: nothing to start.
      let via: 'exec-fifo' | 'start' | 'restored' = 'restored';
      if (!record.restoredFrom) {
        via = await runtimeOf(ctx, record).start(id, { pid: record.pid, start: record.pidStart }).catch((err) => {
          throw withContext(`StartContainer ${id}: runc start`, err);
        });
      }
      endStart();
      const steps = [...(record.timeline ?? []), ...timeline.steps];
      await ctx.containers.update(id, (current) => ({ ...current, state: 'running', startedAt: startedAt.toString(), timeline: steps })).catch(async (err) => {
        // The process runs but its record cannot say so (a full disk): stop it, so that the record
        // stays true; the exit monitor records the exit once there is room.
        await runtimeOf(ctx, record).kill(id, 'KILL', true).catch(() => undefined);
        throw withContext(`StartContainer ${id}: recording the start (the container was killed)`, err);
      });
      ctx.events.emit({ type: 'started', containerId: id, sandboxId: record.sandboxId, at: startedAt, timeline: steps });
      logger.info({ pod: record.sandboxId, container: id, step: 'start', via, ms: steps[steps.length - 1]!.ms }, 'container started');
      // kubelet asks for the status right after the start: read the process's ids once, as soon
      // as this call's answer has gone (the reads are synchronous).
      setImmediate(() => void containerProcessUser(ctx.containers.get(id)).catch(() => undefined));
    }),
  );
}
