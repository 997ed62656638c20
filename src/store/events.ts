import { EventEmitter } from 'node:events';

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

  subscribe(listener: (event: LifecycleEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
