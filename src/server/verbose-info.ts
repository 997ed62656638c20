import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeContext } from '../runtime-context.js';
import type { SandboxRecord } from '../store/types.js';

/**
 * The `info` of verbose ContainerStatus: what `crictl inspect` shows beyond CRI's fields, with
 * the keys other runtimes use (`pid` is how people find a container to nsenter into).
 */
export async function containerInfo(ctx: RuntimeContext, id: string): Promise<Record<string, string>> {
  const record = ctx.containers.get(id);
  if (!record) return {};
  const spec = await readFile(join(ctx.paths.containerDir(id), 'config.json'), 'utf8').catch(() => '');
  return {
    info: JSON.stringify({
      sandboxID: record.sandboxId,
      pid: record.state === 'running' ? record.pid : 0,
      runtimeType: 'oci',
      runtimeHandler: ctx.sandboxes.get(record.sandboxId)?.runtimeHandler ?? '',
      logPath: record.logPath,
      runtimeSpec: spec ? (JSON.parse(spec) as unknown) : undefined,
      timeline: record.timeline,
    }),
  };
}

/** The pod-level resources in effect: the last resize, or those RunPodSandbox was given. */
function podResourcesInfo(record: SandboxRecord): unknown {
  if (record.podResources) return record.podResources;
  const linux = (record.config as { linux?: { resources?: unknown; overhead?: unknown } } | undefined)?.linux;
  return linux?.resources || linux?.overhead ? { resources: linux.resources, overhead: linux.overhead } : undefined;
}

export function sandboxInfo(ctx: RuntimeContext, id: string): Record<string, string> {
  const record = ctx.sandboxes.get(id);
  if (!record) return {};
  return {
    info: JSON.stringify({
      pid: record.pausePid,
      netNamespacePath: record.netnsPath,
      cgroupParent: record.cgroupParent,
      image: ctx.config.pauseImage,
      runtimeType: 'oci',
      runtimeHandler: record.runtimeHandler,
      podResources: podResourcesInfo(record),
      timeline: record.timeline,
    }),
  };
}
