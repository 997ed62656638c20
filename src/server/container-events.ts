import type { ServerWritableStream } from '@grpc/grpc-js';
import { ContainerEventType, type ContainerEventResponse, type GetEventsRequest } from '../gen/runtime/v1/api.js';
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

/**
 * GetContainerEvents: one message per lifecycle change of a container or sandbox, with the pod's
 * status and its containers' statuses as they are right after the change (kubelet's evented PLEG
 * uses them instead of relisting).
 */
export function containerEvents(ctx: RuntimeContext) {
  return (call: ServerWritableStream<GetEventsRequest, ContainerEventResponse>): void => {
    const unsubscribe = ctx.events.subscribe((event) => {
      let podSandboxStatusValue;
      try {
        podSandboxStatusValue = podSandboxStatus(ctx, event.sandboxId);
      } catch {
        podSandboxStatusValue = undefined; // The pod is gone (a deleted event).
      }
      const containersStatuses = podContainerStatuses(ctx, event.sandboxId);
      const ok = call.write({
        containerId: event.containerId,
        containerEventType: TYPES[event.type],
        createdAt: event.at,
        podSandboxStatus: podSandboxStatusValue,
        containersStatuses,
      });
      if (!ok) logger.debug({ container: event.containerId }, 'event subscriber is slow');
    });
    const end = () => unsubscribe();
    call.on('cancelled', end);
    call.on('close', end);
    call.on('error', end);
  };
}
