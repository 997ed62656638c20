import { readFile, writeFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { failedPrecondition, invalidArgument, notFound, withContext } from '../errors.js';
import type { LinuxContainerResources } from '../gen/runtime/v1/api.js';
import { logger, stopwatch } from '../log/logger.js';
import { cgroupHost } from '../oci/cgroup-host.js';
import { resourceRequest } from '../oci/resources.js';
import type { RuntimeContext } from '../runtime-context.js';
import { nowNs } from '../store/clock.js';
import { Rollback } from '../store/rollback.js';
import { cgroupWrites, podCgroupLimits } from './pod-cgroup-limits.js';

/** A cgroup parent as a relative path that cannot leave the cgroup hierarchy it is joined to. */
function cgroupRelative(parent: string): string {
  const relative = normalize(`/${parent}`).replace(/^\/+/, '');
  if (!relative || parent.split('/').includes('..') || /[\n\0]/.test(parent)) {
    throw invalidArgument(`cgroup parent "${parent}" is not a usable cgroup path`);
  }
  return relative;
}

/**
 * The kernel's refusal of a value, as the request's fault: EBUSY is a memory limit below what the
 * pod already uses (it depends on the pod's state), EINVAL and ERANGE a value this node cannot take.
 */
function refusedWrite(context: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'EBUSY') return failedPrecondition(`${context}: the pod uses more memory than that (${message})`);
  if (code === 'EINVAL' || code === 'ERANGE') return invalidArgument(`${context}: the kernel refused the value (${message})`);
  return withContext(context, err);
}

/**
 * UpdatePodSandboxResources (in-place pod resize): the pod's resources plus its overhead become
 * the limits of the pod's own cgroup — the cgroup parent kubelet gave it, which holds the pause
 * process and every container — and are kept on the sandbox record. A pod without a cgroup parent
 * of its own (started by hand, sharing cricket's default parent) has nothing to resize.
 */
export async function updatePodSandboxResources(
  ctx: RuntimeContext,
  sandboxId: string,
  linux: { resources?: LinuxContainerResources; overhead?: LinuxContainerResources },
): Promise<void> {
  if (!linux.resources && !linux.overhead) throw invalidArgument('UpdatePodSandboxResources needs resources or overhead');
  const resources = linux.resources ? resourceRequest(linux.resources) : undefined;
  const overhead = linux.overhead ? resourceRequest(linux.overhead) : undefined;
  const found = ctx.sandboxes.find(sandboxId);
  if (!found) throw notFound(`pod sandbox ${sandboxId} not found`);
  const limits = podCgroupLimits(resources, overhead);
  const t = stopwatch();
  await ctx.locks.run(found.id, async () => {
    const record = ctx.sandboxes.get(found.id);
    if (!record) throw notFound(`pod sandbox ${sandboxId} not found`);
    if (record.state !== 'ready') throw failedPrecondition(`pod sandbox ${record.id} is ${record.state}; only a ready pod can be resized`);
    if (!record.cgroupParent) throw failedPrecondition(`pod sandbox ${record.id} has no cgroup parent of its own to resize`);
    const relative = cgroupRelative(record.cgroupParent);
    const host = cgroupHost();
    // A write the kernel refuses leaves the pod's cgroup as it was: the ones before it are undone
    // (each file reads back in a form it takes again).
    const rollback = new Rollback();
    for (const write of cgroupWrites(limits, host.version)) {
      const path = join(host.controllerDir(write.controller), relative, write.file);
      try {
        const previous = (await readFile(path, 'utf8')).trim();
        await writeFile(path, write.value, { flag: 'r+' });
        rollback.add(`restore ${write.file} to ${previous}`, () => writeFile(path, previous, { flag: 'r+' }));
      } catch (err) {
        await rollback.run(logger.child({ pod: record.id, step: 'update-pod-resources' }), { attempts: 1 });
        throw refusedWrite(`UpdatePodSandboxResources ${record.id}: writing ${write.value} to ${path}`, err);
      }
    }
    await ctx.sandboxes.update(record.id, (current) => ({ ...current, podResources: { resources, overhead, updatedAt: nowNs().toString() } }));
    logger.info({ pod: record.id, step: 'update-pod-resources', cgroup: relative, limits, ms: t() }, 'pod resources updated');
  });
}
