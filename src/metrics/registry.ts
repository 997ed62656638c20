import { collectDefaultMetrics, Registry } from 'prom-client';

/** cricket's own registry: nothing registers into prom-client's global one behind its back. */
export const registry = new Registry();

let processMetrics = false;

/** CPU, memory, file descriptors, event loop lag, GC of the daemon process; once. */
export function enableProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry, prefix: 'cricket_' });
}
