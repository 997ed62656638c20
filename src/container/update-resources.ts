import { failedPrecondition, notFound, withContext } from '../errors.js';
import type { LinuxContainerResources } from '../gen/runtime/v1/api.js';
import { logger, stopwatch } from '../log/logger.js';
import { nodeFacts } from '../oci/node-facts.js';
import { resourceRequest } from '../oci/resources.js';
import { ociResources } from '../oci/spec/resources.js';
import type { RuntimeContext } from '../runtime-context.js';
import { runtimeOf } from './runtime-of.js';
import { resourcesInEffect } from './resources-in-effect.js';

/** UpdateContainerResources: new cgroup limits for a created or running container. */
export async function updateContainerResources(ctx: RuntimeContext, containerId: string, linux: LinuxContainerResources): Promise<void> {
  const found = ctx.containers.find(containerId);
  if (!found) throw notFound(`container ${containerId} not found`);
  const request = resourceRequest(linux);
  const resources = ociResources(request, nodeFacts(ctx.minOomScoreAdj));
  const t = stopwatch();
  await ctx.locks.run(found.id, async () => {
    const record = ctx.containers.get(found.id);
    if (!record) throw notFound(`container ${containerId} not found`);
    if (record.state !== 'running' && record.state !== 'created') {
      throw failedPrecondition(`container ${record.id} is ${record.state}; only a created or running container can be updated`);
    }
    const runtime = runtimeOf(ctx, record);
    await runtime.update(record.id, resources).catch((err) => {
      throw withContext(`UpdateContainerResources ${record.id}: ${runtime.handler} update`, err);
    });
    await ctx.containers.update(record.id, (current) => ({ ...current, resources: resourcesInEffect(current.resources, request) }));
    logger.info({ pod: record.sandboxId, container: record.id, step: 'update-resources', ms: t() }, 'container resources updated');
  });
}
