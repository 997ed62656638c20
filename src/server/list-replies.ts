import { matchingContainers, containerListItem } from '../container/status.js';
import { Container, PodSandbox, type ContainerFilter, type ListContainersResponse, type ListPodSandboxResponse, type PodSandboxFilter } from '../gen/runtime/v1/api.js';
import type { RuntimeContext } from '../runtime-context.js';
import { matchingSandboxes, sandboxListItem } from '../sandbox/status.js';
import type { ContainerRecord, SandboxRecord } from '../store/types.js';
import { encodedReply, ItemEncodings, messageOfFields } from './encoded-reply.js';

// Field numbers of the proto: ListPodSandboxResponse.items and StreamPodSandboxesResponse.pod_sandboxes,
// ListContainersResponse.containers and StreamContainersResponse.containers.
const LIST_POD_SANDBOX_ITEMS = 1;
const LIST_CONTAINERS_CONTAINERS = 1;

const sandboxItems = new ItemEncodings(LIST_POD_SANDBOX_ITEMS, (record: Readonly<SandboxRecord>) => PodSandbox.encode(sandboxListItem(record)).finish());
const containerItems = new ItemEncodings(LIST_CONTAINERS_CONTAINERS, (record: Readonly<ContainerRecord>) => Container.encode(containerListItem(record)).finish());

/**
 * The matching pods as fields 1 of a reply, in wire form: ListPodSandboxResponse.items, and
 * StreamPodSandboxesResponse.pod_sandboxes, which has the same number.
 */
export function podSandboxListFields(ctx: RuntimeContext, filter: PodSandboxFilter | undefined): Uint8Array[] {
  return matchingSandboxes(ctx, filter).map((r) => sandboxItems.of(r));
}

/** The matching containers as fields 1 of ListContainersResponse or StreamContainersResponse, in wire form. */
export function containerListFields(ctx: RuntimeContext, filter: ContainerFilter | undefined): Uint8Array[] {
  return matchingContainers(ctx, filter).map((r) => containerItems.of(r));
}

/** ListPodSandbox, from each pod's wire bytes (made once per version of its record). */
export function listPodSandboxReply(ctx: RuntimeContext, filter: PodSandboxFilter | undefined): ListPodSandboxResponse {
  return encodedReply(messageOfFields(podSandboxListFields(ctx, filter)));
}

/** ListContainers, from each container's wire bytes (made once per version of its record). */
export function listContainersReply(ctx: RuntimeContext, filter: ContainerFilter | undefined): ListContainersResponse {
  return encodedReply(messageOfFields(containerListFields(ctx, filter)));
}
