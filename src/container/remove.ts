import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { logger, stopwatch } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import { runtimeOf } from './runtime-of.js';
import { unmountRootfs } from '../image/rootfs.js';
import { nowNs } from '../store/clock.js';
import { containerNameKey } from '../store/name-index.js';
import { releaseExited } from './release.js';
import { unmountImageVolumes } from './image-volumes.js';
import { idmapStagingDir, releaseIdmapStaging } from './idmap-mounts.js';
import { stopContainer } from './stop.js';

/**
 * RemoveContainer: a running container is killed first; then runc's state, the rootfs mount and
 * the record go, and the bundle and writable layer are removed in the background. The log file stays: kubelet owns it. Removing an
 * unknown container is not an error.
 */
export async function removeContainer(ctx: RuntimeContext, containerId: string): Promise<void> {
  const found = ctx.containers.find(containerId);
  if (!found) return;
  const id = found.id;
  const t = stopwatch();
  if (found.state !== 'exited' && found.state !== 'unknown') await stopContainer(ctx, id, 0);
  await ctx.locks.run(id, async () => {
    const record = ctx.containers.get(id);
    if (!record) return;
    if (record.state === 'unknown') {
      // A creation that could not undo itself: finish its undo steps (each is idempotent).
      await runtimeOf(ctx, record).deleteForce(id);
      await unmountRootfs(join(ctx.paths.containerDir(id), 'rootfs'));
      await unmountImageVolumes(ctx, id);
    } else {
      await releaseExited(ctx, id);
    }
    const dir = ctx.paths.containerDir(id);
    await releaseIdmapStaging(idmapStagingDir(dir));
    await Promise.all([unlink(join(ctx.paths.exits, id)).catch(() => undefined), unlink(join(ctx.paths.attach, id)).catch(() => undefined)]);
    await ctx.containers.delete(id);
    // Nothing is mounted there any more: the files go after the answer. The bundle goes last, as
    // recovery removes a bundle without a record together with its writable layer.
    ctx.removals.remove([ctx.paths.containerRw(id), dir], { pod: record.sandboxId, container: id });
    ctx.names.release(containerNameKey(record.sandboxId, record.name, record.attempt), id);
    ctx.events.emit({ type: 'deleted', containerId: id, sandboxId: record.sandboxId, at: nowNs() });
    logger.info({ pod: record.sandboxId, container: id, step: 'remove', ms: t() }, 'container removed');
  });
}
