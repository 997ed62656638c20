import { join } from 'node:path';
import { unmountRootfs } from '../image/rootfs.js';
import { logger, stopwatch } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import { runtimeOf } from './runtime-of.js';
import { unmountImageVolumes } from './image-volumes.js';

/**
 * Frees what an exited container no longer needs — runc's state and cgroup, the rootfs and image
 * volume mounts —
 * right after the exit, as containerd does when a task ends. RemoveContainer is then only a
 * matter of files and the record. The writable layer stays for stats and until removal.
 * The caller holds the container's lock.
 */
export async function releaseExited(ctx: RuntimeContext, id: string): Promise<void> {
  const record = ctx.containers.get(id);
  if (!record || record.state !== 'exited' || record.released) return;
  const t = stopwatch();
  await runtimeOf(ctx, record).deleteForce(id);
  await unmountRootfs(join(ctx.paths.containerDir(id), 'rootfs'));
  await unmountImageVolumes(ctx, id);
  await ctx.containers.update(id, (current) => ({ ...current, released: true }));
  logger.debug({ pod: record.sandboxId, container: id, step: 'release', ms: t() }, 'exited container released');
}
