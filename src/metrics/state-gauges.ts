import { Gauge } from 'prom-client';
import type { RuntimeContext } from '../runtime-context.js';
import { registry } from './registry.js';

/** Pods and containers by state, counted from the in-memory records at each scrape. */
export function registerStateGauges(ctx: RuntimeContext): () => void {
  new Gauge({
    name: 'cricket_pods',
    help: 'Pod sandboxes by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const counts: Record<string, number> = { creating: 0, ready: 0, notready: 0 };
      for (const s of ctx.sandboxes.all()) counts[s.state] = (counts[s.state] ?? 0) + 1;
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'cricket_containers',
    help: 'Containers by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const counts: Record<string, number> = { created: 0, running: 0, exited: 0, unknown: 0 };
      for (const c of ctx.containers.all()) counts[c.state] = (counts[c.state] ?? 0) + 1;
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  return () => {
    registry.removeSingleMetric('cricket_pods');
    registry.removeSingleMetric('cricket_containers');
  };
}
