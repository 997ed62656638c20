import { idmapStagingDir, releaseIdmapStaging } from '../container/idmap-mounts.js';
import { rm } from 'node:fs/promises';
import { removeContainer } from '../container/remove.js';
import { logger, stopwatch } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import { nowNs } from '../store/clock.js';
import { sandboxNameKey } from '../store/name-index.js';
import { stopPodSandbox } from './stop.js';
import { unmountPodShm } from '../pod/shm.js';

/**
 * RemovePodSandbox: stops the pod if needed, removes all its containers, then its files and
 * record. A sandbox already removed is not an error.
 */
export async function removePodSandbox(ctx: RuntimeContext, sandboxId: string): Promise<void> {
  const found = ctx.sandboxes.find(sandboxId);
  if (!found) return;
  const id = found.id;
  const t = stopwatch();
  await stopPodSandbox(ctx, id);
  await ctx.locks.run(id, async () => {
    const record = ctx.sandboxes.get(id);
    if (!record) return;
    // Under the pod's lock: no container can be added to the pod while its own are removed.
    await Promise.all(ctx.containers.byGroup(id).map((c) => removeContainer(ctx, c.id)));
    await releaseIdmapStaging(idmapStagingDir(ctx.paths.sandboxDir(id)));
    // The stop unmounted it; a directory with a mount in it is never removed file by file.
    if (record.shmPath) await unmountPodShm(record.shmPath);
    await rm(ctx.paths.sandboxDir(id), { recursive: true, force: true });
    await ctx.sandboxes.delete(id);
    ctx.names.release(sandboxNameKey(record.name, record.namespace, record.uid, record.attempt), id);
    ctx.events.emit({ type: 'deleted', containerId: id, sandboxId: id, at: nowNs() });
    logger.info({ pod: id, step: 'remove', ms: t() }, 'pod sandbox removed');
  });
}
