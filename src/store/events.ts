import { logger } from '../log/logger.js';
import type { TimelineStep } from './step-timeline.js';

export type LifecycleEventType = 'created' | 'started' | 'stopped' | 'deleted';

export interface LifecycleEvent {
  type: LifecycleEventType;
  containerId: string;
  sandboxId: string;
  /** Nanoseconds since the epoch. */
  at: bigint;
  /**
   * On `started`: the steps of creating and starting it, including the last write and a `total`
   * step that the record itself cannot hold (the record is written within them).
   */
  timeline?: TimelineStep[];
}

/**
 * Container and sandbox lifecycle changes, for GetContainerEvents and the log. Listeners run in
 * the emitter's call: a listener that throws is logged and skipped, never the emitter's failure.
 */
export class EventBus {
  private readonly listeners = new Set<(event: LifecycleEvent) => void>();

  emit(event: LifecycleEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        logger.warn({ err: (err as Error).message, container: event.containerId, event: event.type }, 'event listener failed');
      }
    }
  }

  subscribe(listener: (event: LifecycleEvent) => void): () => void {
    // A function may subscribe twice: each subscription is its own entry.
    const entry = (event: LifecycleEvent) => listener(event);
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  get subscribers(): number {
    return this.listeners.size;
  }
}
