import { logger } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import { containerNameKey, sandboxNameKey } from '../store/name-index.js';

/** Reserves the name of every pod and container the records hold, once they are recovered. */
export function indexNames(ctx: RuntimeContext): void {
  const reserve = (key: string, id: string, digest: string | undefined) => {
    try {
      ctx.names.reserve(key, { id, digest: digest ?? '' }, key);
    } catch (err) {
      // Two records with one name can only come from state written by hand; both stay usable by id.
      logger.warn({ err, id, name: key }, 'a second record holds a name already taken');
    }
  };
  for (const s of ctx.sandboxes.all()) reserve(sandboxNameKey(s.name, s.namespace, s.uid, s.attempt), s.id, s.requestDigest);
  for (const c of ctx.containers.all()) reserve(containerNameKey(c.sandboxId, c.name, c.attempt), c.id, c.requestDigest);
}
