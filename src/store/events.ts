import { EventEmitter } from 'node:events';
import { logger } from '../log/logger.js';

export type LifecycleEventType = 'created' | 'started' | 'stopped' | 'deleted';

export interface LifecycleEvent {
  type: LifecycleEventType;
  containerId: string;
  sandboxId: string;
  /** Nanoseconds since the epoch. */
  at: bigint;
}

/** Container and sandbox lifecycle changes, for GetContainerEvents and the log. */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  emit(event: LifecycleEvent): void {
    this.emitter.emit('event', event);
  }

  /**
   * A listener that throws is logged and skipped: it must neither stop the other listeners nor
   * fail the state change that emitted the event (an exit already recorded, say).
   */
  subscribe(listener: (event: LifecycleEvent) => void): () => void {
    const guarded = (event: LifecycleEvent) => {
      try {
        listener(event);
      } catch (err) {
        logger.error({ err, event: event.type, container: event.containerId, pod: event.sandboxId }, 'lifecycle event listener failed');
      }
    };
    this.emitter.on('event', guarded);
    return () => this.emitter.off('event', guarded);
  }
}
