import { notFound } from '../errors.js';
import { ContainerState, ImageSpec, Signal, signalFromJSON, type Container, type ContainerFilter, type ContainerStatus, type LinuxContainerResources } from '../gen/runtime/v1/api.js';
import type { ResourceRequest } from '../oci/resources.js';
import type { RuntimeContext } from '../runtime-context.js';
import { matchesLabels } from '../pod/labels.js';
import type { ContainerRecord } from '../store/types.js';

const STATES: Record<ContainerRecord['state'], ContainerState> = {
  created: ContainerState.CONTAINER_CREATED,
  running: ContainerState.CONTAINER_RUNNING,
  exited: ContainerState.CONTAINER_EXITED,
  unknown: ContainerState.CONTAINER_UNKNOWN,
};

/** "TERM", "15" and "SIGTERM" as the image may write it, in the enum's "SIGTERM" form. */
function normalSignalName(name: string): string {
  const upper = name.toUpperCase();
  if (/^\d+$/.test(upper)) return SIGNAL_NUMBERS[Number(upper)] ?? 'RUNTIME_DEFAULT';
  return upper.startsWith('SIG') ? upper : `SIG${upper}`;
}

const SIGNAL_NUMBERS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 9: 'SIGKILL', 10: 'SIGUSR1', 12: 'SIGUSR2', 15: 'SIGTERM', 28: 'SIGWINCH' };

function criSignal(name: string): Signal {
  if (!name) return Signal.RUNTIME_DEFAULT;
  const value = signalFromJSON(normalSignalName(name));
  return value === Signal.UNRECOGNIZED ? Signal.RUNTIME_DEFAULT : value;
}

function criResources(r: ResourceRequest): LinuxContainerResources {
  return {
    cpuPeriod: BigInt(r.cpuPeriod),
    cpuQuota: BigInt(r.cpuQuota),
    cpuShares: BigInt(r.cpuShares),
    memoryLimitInBytes: BigInt(r.memoryLimitInBytes),
    memorySwapLimitInBytes: BigInt(r.memorySwapLimitInBytes),
    oomScoreAdj: BigInt(r.oomScoreAdj),
    cpusetCpus: r.cpusetCpus,
    cpusetMems: r.cpusetMems,
    hugepageLimits: r.hugepageLimits.map((h) => ({ pageSize: h.pageSize, limit: BigInt(h.limit) })),
    unified: r.unified,
  };
}

/** The ImageSpec the container was made with, as the request gave it (its config keeps it). */
function requestedImage(record: Readonly<ContainerRecord>): ImageSpec {
  const spec = (record.config as { image?: unknown } | undefined)?.image;
  return ImageSpec.fromJSON(spec ?? { image: record.imageSpec });
}

/**
 * ContainerStatus's ImageSpec: the image by name (statusImageName), which pod status shows; the
 * user's image, or the one asked for when none came; and the reference it was pulled by.
 */
function statusImageSpec(record: Readonly<ContainerRecord>): ImageSpec {
  const asked = requestedImage(record);
  return {
    ...asked,
    image: record.imageName ?? record.imageSpec,
    userSpecifiedImage: asked.userSpecifiedImage || record.imageSpec,
    imageRef: record.imageRef,
  };
}

export function containerStatus(ctx: RuntimeContext, containerId: string): ContainerStatus {
  const record = ctx.containers.find(containerId);
  if (!record) throw notFound(`container ${containerId} not found`);
  return containerStatusOf(record);
}

/** A container's status without its process user: a function of its record alone. */
export function containerStatusOf(record: Readonly<ContainerRecord>): ContainerStatus {
  return {
    id: record.id,
    metadata: { name: record.name, attempt: record.attempt },
    state: STATES[record.state],
    createdAt: BigInt(record.createdAt),
    startedAt: BigInt(record.startedAt),
    finishedAt: BigInt(record.finishedAt),
    exitCode: record.exitCode,
    image: statusImageSpec(record),
    imageRef: record.imageRef,
    reason: record.reason,
    message: record.message,
    labels: record.labels,
    annotations: record.annotations,
    mounts: record.mounts.map((m) => ({
      containerPath: m.containerPath,
      hostPath: m.hostPath,
      readonly: m.readonly,
      selinuxRelabel: m.selinuxRelabel,
      propagation: m.propagation,
      uidMappings: [],
      gidMappings: [],
      recursiveReadOnly: false,
      image: m.image ? { image: m.image, annotations: {}, userSpecifiedImage: m.image, runtimeHandler: '', imageRef: '' } : undefined,
      imageSubPath: m.imageSubPath ?? '',
    })),
    logPath: record.logPath,
    resources: record.resources ? { linux: criResources(record.resources), windows: undefined } : undefined,
    imageId: record.imageId,
    user: undefined,
    stopSignal: criSignal(record.stopSignal),
  };
}

/** Statuses of every container of one pod (verbose PodSandboxStatus, container events). */
export function podContainerStatuses(ctx: RuntimeContext, sandboxId: string): ContainerStatus[] {
  const statuses: ContainerStatus[] = [];
  for (const record of ctx.containers.byGroup(sandboxId)) statuses.push(containerStatus(ctx, record.id));
  return statuses;
}

/** The containers a ListContainers filter selects, from memory: kubelet lists every second. */
export function matchingContainers(ctx: RuntimeContext, filter: ContainerFilter | undefined): Readonly<ContainerRecord>[] {
  // A full pod id (what kubelet sends) is answered from the index of containers by pod.
  const pod = filter?.podSandboxId ? ctx.sandboxes.get(filter.podSandboxId) : undefined;
  const ofPod = pod ? ctx.containers.byGroup(pod.id) : undefined;
  const candidates = ofPod ?? ctx.containers.all();
  // Sized once and cut to what matched: pushing a hundred records reallocates the list four times.
  const result = new Array<Readonly<ContainerRecord>>(ofPod?.length ?? ctx.containers.size);
  let count = 0;
  for (const record of candidates) {
    if (filter) {
      if (filter.id && !record.id.startsWith(filter.id)) continue;
      if (filter.podSandboxId && !record.sandboxId.startsWith(filter.podSandboxId)) continue;
      if (filter.state && STATES[record.state] !== filter.state.state) continue;
      if (!matchesLabels(record.labels, filter.labelSelector)) continue;
    }
    result[count++] = record;
  }
  result.length = count;
  return result;
}

/** One ListContainers item: a function of the record alone. */
export function containerListItem(record: Readonly<ContainerRecord>): Container {
  return {
    id: record.id,
    podSandboxId: record.sandboxId,
    metadata: { name: record.name, attempt: record.attempt },
    // As kubelet asked for it, and the image by its id, which ListImages and kubelet's image
    // collector know it by (the status gives the digest it was pulled by).
    image: requestedImage(record),
    imageRef: record.imageId,
    state: STATES[record.state],
    createdAt: BigInt(record.createdAt),
    labels: record.labels,
    annotations: record.annotations,
    imageId: record.imageId,
  };
}
