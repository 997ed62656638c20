// Per-step durations of RunPodSandbox and of creating and starting a container. The runtime times
// its steps once and hands them over on the `started` event, whatever the log level.
import { Histogram } from 'prom-client';
import type { EventBus, LifecycleEvent } from '../store/events.js';
import { registry } from './registry.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const podSteps = new Histogram({
  name: 'cricket_pod_start_step_duration_seconds',
  help: 'Duration of each step of starting a pod sandbox (persist, netns, bundle, pause, cniAdd, podFiles, finish, total)',
  labelNames: ['step'] as const,
  buckets: BUCKETS,
  registers: [registry],
});

const containerSteps = new Histogram({
  name: 'cricket_container_start_step_duration_seconds',
  help: 'Duration of each step of creating and starting a container (rootfsMount, runcCreate, start)',
  labelNames: ['step'] as const,
  buckets: BUCKETS,
  registers: [registry],
});

/** Observes the timeline a `started` event carries: a pod's when the id is the sandbox's. */
export function observeStartEvent(event: LifecycleEvent): void {
  if (event.type !== 'started' || !event.timeline) return;
  const histogram = event.containerId === event.sandboxId ? podSteps : containerSteps;
  for (const { step, ms } of event.timeline) {
    if (typeof step === 'string' && Number.isFinite(ms)) histogram.observe({ step }, ms / 1000);
  }
}

/** Follows the start events; returns the undo. */
export function observeStartSteps(events: EventBus): () => void {
  return events.subscribe(observeStartEvent);
}
