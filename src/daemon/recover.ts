import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { unmountImageVolumes } from '../container/image-volumes.js';
import { unmountRootfs } from '../image/rootfs.js';
import { logger } from '../log/logger.js';
import { listPinned, removePinnedNetns } from '../network/netns.js';
import type { Runc, RuncState } from '../oci/runc.js';
import type { RuntimeContext } from '../runtime-context.js';
import { podNetworkRequest } from '../pod/network-request.js';
import { podShmPath, unmountPodShm } from '../pod/shm.js';

/**
 * Brings the records in line with reality after cricket (re)starts, possibly after being killed
 * mid-call: half-created sandboxes are undone, dead pause processes mark their pod not ready,
 * and anything cricket made (runc containers, pinned netns, rootfs mounts, directories) that no
 * record owns is removed.
 */
export async function recover(ctx: RuntimeContext): Promise<void> {
  // Every handler's root: a pod and its containers live in the root of the pod's handler.
  const runcStates = new Map<string, RuncState & { runtime: Runc }>();
  for (const runtime of ctx.runtimes.all()) {
    for (const s of await runtime.list()) runcStates.set(s.id, { ...s, runtime });
  }
  const runtimeOfPod = (sandbox: { id: string; runtimeHandler: string }): Runc | undefined => {
    try {
      return ctx.runtimes.forSandbox(sandbox);
    } catch (err) {
      logger.error({ err, pod: sandbox.id }, 'recover: the pod\'s runtime handler is not configured');
      return undefined;
    }
  };

  for (const sandbox of [...ctx.sandboxes.all()]) {
    const log = logger.child({ pod: sandbox.id });
    if (sandbox.state === 'creating') {
      // Interrupted RunPodSandbox: undo every step it may have done.
      await runtimeOfPod(sandbox)?.deleteForce(sandbox.id).catch((err) => log.error({ err }, 'recover: pause delete failed'));
      if (sandbox.netnsPath) {
        await ctx.network.tearDown(podNetworkRequest(sandbox), sandbox.cniResult, sandbox.cniConfig).catch((err) => log.error({ err }, 'recover: CNI DEL failed'));
        await removePinnedNetns(sandbox.netnsPath);
      }
      if (sandbox.shmPath) await unmountPodShm(sandbox.shmPath).catch((err) => log.error({ err }, "recover: unmounting the pod's /dev/shm failed"));
      await rm(ctx.paths.sandboxDir(sandbox.id), { recursive: true, force: true });
      await ctx.sandboxes.delete(sandbox.id);
      log.warn('recover: removed a sandbox whose creation was interrupted');
      continue;
    }
    const pause = runcStates.get(sandbox.id);
    if (sandbox.state === 'ready' && pause?.status !== 'running') {
      await ctx.sandboxes.update(sandbox.id, (current) => ({ ...current, state: 'notready' }));
      log.warn({ pause: pause?.status ?? 'missing' }, 'recover: pause process gone, pod marked not ready');
    }
  }

  for (const container of [...ctx.containers.all()]) {
    if (!ctx.sandboxes.get(container.sandboxId)) {
      await ctx.containers.delete(container.id);
      continue;
    }
    const state = runcStates.get(container.id);
    if ((container.state === 'running' || container.state === 'created') && (!state || state.status === 'stopped')) {
      // The exit monitor fills in the real code from conmon's exit file when there is one.
      if (!state) {
        await ctx.containers.update(container.id, (current) => ({
          ...current,
          state: 'exited',
          exitCode: 255,
          reason: 'Unknown',
          message: 'container disappeared while cricket was not running',
          finishedAt: current.finishedAt === '0' ? current.startedAt : current.finishedAt,
        }));
      }
    }
  }

  // An exited container needs its image volumes no more (a crash may have come before the release).
  for (const container of ctx.containers.all()) {
    if (container.state === 'exited' && container.imageVolumeIds?.length) {
      await unmountImageVolumes(ctx, container.id).catch((err) => logger.error({ err, container: container.id }, 'recover: unmounting image volumes failed'));
    }
  }

  // Leftovers no record owns: interrupted CreateContainer or RunPodSandbox calls.
  const known = new Set<string>([...[...ctx.sandboxes.all()].map((s) => s.id), ...[...ctx.containers.all()].map((c) => c.id)]);
  for (const id of runcStates.keys()) {
    if (!known.has(id)) {
      const { runtime } = runcStates.get(id)!;
      await runtime.deleteForce(id).catch((err) => logger.error({ err, id, handler: runtime.handler }, 'recover: orphan runtime delete failed'));
      logger.warn({ id, handler: runtime.handler }, 'recover: removed an orphaned runtime container');
    }
  }
  const liveNetns = new Set([...ctx.sandboxes.all()].map((s) => s.netnsPath).filter(Boolean));
  for (const pinned of await listPinned(ctx.paths.netns)) {
    if (!liveNetns.has(pinned.path)) await removePinnedNetns(pinned.path);
  }
  const containersDir = join(ctx.config.stateDir, 'containers');
  for (const id of await readdir(containersDir).catch(() => [] as string[])) {
    if (known.has(id)) continue;
    await unmountRootfs(join(containersDir, id, 'rootfs')).catch(() => undefined);
    await unmountImageVolumes(ctx, id).catch((err) => logger.error({ err, container: id }, 'recover: unmounting image volumes failed'));
    await rm(join(containersDir, id), { recursive: true, force: true });
    await rm(ctx.paths.containerRw(id), { recursive: true, force: true });
  }
  // A writable layer lives on disk, its bundle on tmpfs: after a reboot only the layer is left
  // of a CreateContainer that a power loss cut short.
  for (const id of await readdir(ctx.paths.rwDir).catch(() => [] as string[])) {
    if (!known.has(id) && /^[0-9a-f]{64}$/.test(id)) await rm(join(ctx.paths.rwDir, id), { recursive: true, force: true });
  }
  // A pod record that a power loss left unreadable is skipped at load; its address is not.
  const livePods = new Set([...ctx.sandboxes.all()].map((s) => s.id));
  const released = await ctx.network.releaseOrphanAddresses(livePods).catch((err) => {
    logger.error({ err }, 'recover: releasing orphaned pod addresses failed');
    return [] as string[];
  });
  if (released.length > 0) logger.warn({ addresses: released }, 'recover: released pod addresses no record holds');
  const sandboxesDir = join(ctx.config.stateDir, 'sandboxes');
  for (const id of await readdir(sandboxesDir).catch(() => [] as string[])) {
    if (known.has(id)) continue;
    await unmountPodShm(podShmPath(join(sandboxesDir, id))).catch((err) => logger.error({ err, pod: id }, "recover: unmounting an orphaned pod's /dev/shm failed"));
    await rm(join(sandboxesDir, id), { recursive: true, force: true });
  }
}
