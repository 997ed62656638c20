import { notFound } from '../errors.js';
import {
  NamespaceMode,
  PodSandboxState,
  type PodSandbox,
  type PodSandboxFilter,
  type PodSandboxStatus,
} from '../gen/runtime/v1/api.js';
import { matchesLabels } from '../pod/labels.js';
import type { RuntimeContext } from '../runtime-context.js';
import type { SandboxRecord } from '../store/types.js';

/** A sandbox still being created is not ready; it is reported as such. */
function criState(record: SandboxRecord): PodSandboxState {
  return record.state === 'ready' ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY;
}

function metadata(record: SandboxRecord) {
  return { name: record.name, uid: record.uid, namespace: record.namespace, attempt: record.attempt };
}

export function podSandboxStatus(ctx: RuntimeContext, sandboxId: string): PodSandboxStatus {
  const record = ctx.sandboxes.find(sandboxId);
  if (!record) throw notFound(`pod sandbox ${sandboxId} not found`);
  return podSandboxStatusOf(record);
}

/** A pod's status: a function of its record alone. */
export function podSandboxStatusOf(record: Readonly<SandboxRecord>): PodSandboxStatus {
  const hostNetwork = record.namespaces.network === NamespaceMode.NODE;
  return {
    id: record.id,
    metadata: metadata(record),
    state: criState(record),
    createdAt: BigInt(record.createdAt),
    network: hostNetwork
      ? { ip: '', additionalIps: [] }
      : { ip: record.ips[0] ?? '', additionalIps: record.ips.slice(1).map((ip) => ({ ip })) },
    linux: {
      namespaces: {
        options: {
          network: record.namespaces.network,
          pid: record.namespaces.pid,
          ipc: record.namespaces.ipc,
          targetId: record.namespaces.targetId,
          usernsOptions: undefined,
        },
      },
    },
    labels: record.labels,
    annotations: record.annotations,
    runtimeHandler: record.runtimeHandler,
  };
}

/** The pods a ListPodSandbox filter selects, from memory: kubelet lists every second. */
export function matchingSandboxes(ctx: RuntimeContext, filter: PodSandboxFilter | undefined): Readonly<SandboxRecord>[] {
  // Sized once and cut to what matched: pushing a hundred records reallocates the list four times.
  const result = new Array<Readonly<SandboxRecord>>(ctx.sandboxes.size);
  let count = 0;
  for (const record of ctx.sandboxes.all()) {
    if (filter) {
      if (filter.id && !record.id.startsWith(filter.id)) continue;
      if (filter.state && criState(record) !== filter.state.state) continue;
      if (!matchesLabels(record.labels, filter.labelSelector)) continue;
    }
    result[count++] = record;
  }
  result.length = count;
  return result;
}

/** One ListPodSandbox item: a function of the record alone. */
export function sandboxListItem(record: Readonly<SandboxRecord>): PodSandbox {
  return {
    id: record.id,
    metadata: metadata(record),
    state: criState(record),
    createdAt: BigInt(record.createdAt),
    labels: record.labels,
    annotations: record.annotations,
    runtimeHandler: record.runtimeHandler,
  };
}
