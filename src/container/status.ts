import { notFound } from '../errors.js';
import { ContainerState, Signal, signalFromJSON, type Container, type ContainerFilter, type ContainerStatus, type LinuxContainerResources } from '../gen/runtime/v1/api.js';
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

/**
 * The container's ImageSpec: ListContainers hands back the image as it was asked for, as kubelet's
 * relist compares it; ContainerStatus shows its name (statusImageName), which pod status shows.
 */
function imageSpec(record: Readonly<ContainerRecord>, shown: 'as asked' | 'by name') {
  return {
    image: shown === 'by name' ? (record.imageName ?? record.imageSpec) : record.imageSpec,
    annotations: {},
    userSpecifiedImage: record.userSpecifiedImage ?? record.imageSpec,
    runtimeHandler: record.imageRuntimeHandler ?? '',
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
    image: imageSpec(record, 'by name'),
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
  const result: Readonly<ContainerRecord>[] = [];
  // A full pod id (what kubelet sends) is answered from the index of containers by pod.
  const pod = filter?.podSandboxId ? ctx.sandboxes.get(filter.podSandboxId) : undefined;
  const candidates = pod ? ctx.containers.byGroup(pod.id) : ctx.containers.all();
  for (const record of candidates) {
    if (filter) {
      if (filter.id && !record.id.startsWith(filter.id)) continue;
      if (filter.podSandboxId && !record.sandboxId.startsWith(filter.podSandboxId)) continue;
      if (filter.state && STATES[record.state] !== filter.state.state) continue;
      if (!matchesLabels(record.labels, filter.labelSelector)) continue;
    }
    result.push(record);
  }
  return result;
}

/** One ListContainers item: a function of the record alone. */
export function containerListItem(record: Readonly<ContainerRecord>): Container {
  return {
    id: record.id,
    podSandboxId: record.sandboxId,
    metadata: { name: record.name, attempt: record.attempt },
    image: imageSpec(record, 'as asked'),
    imageRef: record.imageRef,
    state: STATES[record.state],
    createdAt: BigInt(record.createdAt),
    labels: record.labels,
    annotations: record.annotations,
    imageId: record.imageId,
  };
}

export function listContainers(ctx: RuntimeContext, filter: ContainerFilter | undefined): Container[] {
  return matchingContainers(ctx, filter).map(containerListItem);
}
