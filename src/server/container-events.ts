import { status, type ServerWritableStream } from '@grpc/grpc-js';
import { ContainerEventResponse, ContainerEventType, type GetEventsRequest } from '../gen/runtime/v1/api.js';
import { podContainerStatuses } from '../container/status.js';
import { logger } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import { podSandboxStatus } from '../sandbox/status.js';
import type { LifecycleEvent } from '../store/events.js';

const TYPES: Record<LifecycleEvent['type'], ContainerEventType> = {
  created: ContainerEventType.CONTAINER_CREATED_EVENT,
  started: ContainerEventType.CONTAINER_STARTED_EVENT,
  stopped: ContainerEventType.CONTAINER_STOPPED_EVENT,
  deleted: ContainerEventType.CONTAINER_DELETED_EVENT,
};

/** What one subscriber may have waiting, queued here or handed to gRPC and not yet sent. */
export interface EventQueueLimits {
  events: number;
  bytes: number;
}

/**
 * 1,000 events as containerd's event channel; the byte bound matters because every event
 * carries the statuses of all the pod's containers, labels and annotations included.
 */
export const DEFAULT_EVENT_QUEUE_LIMITS: EventQueueLimits = { events: 1000, bytes: 16 << 20 };

/** One message per event, built and measured once however many subscribers there are. */
const built = new WeakMap<LifecycleEvent, { message: ContainerEventResponse; size: number }>();

function eventMessage(ctx: RuntimeContext, event: LifecycleEvent): { message: ContainerEventResponse; size: number } {
  let entry = built.get(event);
  if (!entry) {
    const message = eventResponse(ctx, event);
    entry = { message, size: ContainerEventResponse.encode(message).finish().length };
    built.set(event, entry);
  }
  return entry;
}

function eventResponse(ctx: RuntimeContext, event: LifecycleEvent): ContainerEventResponse {
  let podSandboxStatusValue;
  try {
    podSandboxStatusValue = podSandboxStatus(ctx, event.sandboxId);
  } catch {
    podSandboxStatusValue = undefined; // The pod is gone (a deleted event).
  }
  return {
    containerId: event.containerId,
    containerEventType: TYPES[event.type],
    createdAt: event.at,
    podSandboxStatus: podSandboxStatusValue,
    containersStatuses: podContainerStatuses(ctx, event.sandboxId),
  };
}

/**
 * GetContainerEvents: one message per lifecycle change of a container or sandbox, with the pod's
 * status and its containers' statuses as they are right after the change (kubelet's evented PLEG
 * uses them instead of relisting).
 *
 * Each subscriber has its own bounded queue: messages go to gRPC only while gRPC takes them
 * (call.write's answer and 'drain'), the rest wait here, and a subscriber whose backlog passes
 * the limits is dropped with RESOURCE_EXHAUSTED (kubelet then subscribes again and relists).
 */
export function containerEvents(ctx: RuntimeContext, limits: EventQueueLimits = DEFAULT_EVENT_QUEUE_LIMITS) {
  return (call: ServerWritableStream<GetEventsRequest, ContainerEventResponse>): void => {
    const log = logger.child({ component: 'events', peer: call.getPeer() });
    const queue: { message: ContainerEventResponse; size: number }[] = [];
    let queuedBytes = 0;
    let inFlight = 0;
    let inFlightBytes = 0;
    let blocked = false;
    let over = false;

    const pump = () => {
      while (!blocked && !over && queue.length > 0) {
        const { message, size } = queue.shift()!;
        queuedBytes -= size;
        inFlight++;
        inFlightBytes += size;
        const accepted = call.write(message, () => {
          inFlight--;
          inFlightBytes -= size;
        });
        if (!accepted) blocked = true;
      }
    };

    const drop = () => {
      over = true;
      unsubscribe();
      const backlog = { events: queue.length + inFlight, bytes: queuedBytes + inFlightBytes };
      const reason = backlog.events > limits.events ? `more than ${limits.events} events waiting` : `more than ${limits.bytes} bytes waiting`;
      queue.length = 0;
      queuedBytes = 0;
      log.warn({ ...backlog, reason }, 'event subscriber dropped: it does not read its events');
      const details = `event subscriber too slow: ${reason} (${backlog.events} events, ${backlog.bytes} bytes); subscribe again`;
      // The server ends the call with this status after the messages already handed to it.
      call.emit('error', Object.assign(new Error(details), { code: status.RESOURCE_EXHAUSTED, details }));
    };

    const unsubscribe = ctx.events.subscribe((event) => {
      if (over) return;
      const { message, size } = eventMessage(ctx, event);
      queue.push({ message, size });
      queuedBytes += size;
      if (queue.length + inFlight > limits.events || queuedBytes + inFlightBytes > limits.bytes) drop();
      else pump();
    });
    call.on('drain', () => {
      blocked = false;
      pump();
    });
    const end = () => {
      over = true;
      unsubscribe();
      queue.length = 0;
    };
    call.on('cancelled', end);
    call.on('close', end);
    call.on('error', end);
  };
}
