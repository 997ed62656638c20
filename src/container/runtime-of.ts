import type { Runc } from '../oci/runc.js';
import type { RuntimeContext } from '../runtime-context.js';
import type { ContainerRecord } from '../store/types.js';

/**
 * A container runs under its pod's runtime handler. Its pod's record outlives it (a pod is
 * removed after its containers); should it be gone all the same, the default handler is asked.
 */
export function runtimeOf(ctx: RuntimeContext, container: Pick<ContainerRecord, 'sandboxId'>): Runc {
  const sandbox = ctx.sandboxes.get(container.sandboxId);
  return ctx.runtimes.forSandbox(sandbox ?? { id: container.sandboxId, runtimeHandler: '' });
}
