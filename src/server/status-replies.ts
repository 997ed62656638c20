import { containerStatusOf } from '../container/status.js';
import { knownProcessUser } from '../container/process-user.js';
import { notFound } from '../errors.js';
import { ContainerStatus, PodSandboxStatus, type ContainerStatusResponse, type PodSandboxStatusResponse } from '../gen/runtime/v1/api.js';
import type { RuntimeContext } from '../runtime-context.js';
import { podSandboxStatusOf } from '../sandbox/status.js';
import { nowNs } from '../store/clock.js';
import type { ContainerRecord, SandboxRecord } from '../store/types.js';
import { encodedReply, ItemEncodings, messageOfFields, varintField } from './encoded-reply.js';

// Field numbers of the proto: PodSandboxStatusResponse.status and .timestamp, ContainerStatusResponse.status.
const POD_SANDBOX_STATUS_STATUS = 1;
const POD_SANDBOX_STATUS_TIMESTAMP = 4;
const CONTAINER_STATUS_STATUS = 1;

const sandboxStatuses = new ItemEncodings(POD_SANDBOX_STATUS_STATUS, (record: Readonly<SandboxRecord>) =>
  PodSandboxStatus.encode(podSandboxStatusOf(record)).finish(),
);

/**
 * Only records whose process user needs no /proc read are kept (containerProcessUser): the bytes
 * then hold for as long as the record, whose process start keys that reading.
 */
const containerStatuses = new ItemEncodings(CONTAINER_STATUS_STATUS, (record: Readonly<ContainerRecord>) =>
  ContainerStatus.encode({ ...containerStatusOf(record), user: knownProcessUser(record) ?? undefined }).finish(),
);

/** PodSandboxStatus without verbose info, from the pod's wire bytes (made once per version of its record). */
export function podSandboxStatusReply(ctx: RuntimeContext, sandboxId: string): PodSandboxStatusResponse {
  const record = ctx.sandboxes.find(sandboxId);
  if (!record) throw notFound(`pod sandbox ${sandboxId} not found`);
  return encodedReply(messageOfFields([sandboxStatuses.of(record), varintField(POD_SANDBOX_STATUS_TIMESTAMP, nowNs())]));
}

/**
 * ContainerStatus without verbose info from the container's wire bytes, when its process user is
 * already known; undefined when the process must be read first.
 */
export function containerStatusReply(ctx: RuntimeContext, containerId: string): ContainerStatusResponse | undefined {
  const record = ctx.containers.find(containerId);
  if (!record) throw notFound(`container ${containerId} not found`);
  if (knownProcessUser(record) === null) return undefined;
  return encodedReply(messageOfFields([containerStatuses.of(record)]));
}
