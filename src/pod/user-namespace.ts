import { invalidArgument } from '../errors.js';
import { NamespaceMode, type IDMapping, type UserNamespace } from '../gen/runtime/v1/api.js';
import type { PodIdMappings } from '../oci/spec/user-namespace.js';

/** kubelet gives each pod 65536 ids, starting at a multiple of 65536 above the node's own. */
const POD_RANGE = 65536;

function checkMapping(list: IDMapping[], kind: 'uid' | 'gid', pod: string): { containerID: number; hostID: number; size: number } {
  if (list.length !== 1) throw invalidArgument(`pod ${pod}: a user namespace needs exactly one ${kind} mapping, got ${list.length}`);
  const m = list[0]!;
  if (m.containerId !== 0) throw invalidArgument(`pod ${pod}: the ${kind} mapping must start at container id 0, not ${m.containerId}`);
  if (m.length !== POD_RANGE) throw invalidArgument(`pod ${pod}: the ${kind} mapping must have length ${POD_RANGE}, not ${m.length}`);
  if (m.hostId === 0 || m.hostId % POD_RANGE !== 0) {
    throw invalidArgument(`pod ${pod}: the ${kind} mapping's host id ${m.hostId} is not a non-zero multiple of ${POD_RANGE}`);
  }
  if (m.hostId + m.length > 2 ** 32 - 1) throw invalidArgument(`pod ${pod}: the ${kind} mapping at host id ${m.hostId} runs past the id space`);
  return { containerID: 0, hostID: m.hostId, size: m.length };
}

/**
 * The pod's user namespace from its security context: NODE (or nothing) is none; POD with
 * kubelet's mappings is the pod's own; per-container and TARGET user namespaces do not exist
 * in Kubernetes. A pod that shares the node's network, PID or IPC namespace cannot have one:
 * those namespaces belong to the node's user namespace.
 */
export function podUserNamespace(
  options: UserNamespace | undefined,
  shared: { network: number; pid: number; ipc: number },
  pod: string,
): PodIdMappings | undefined {
  if (!options || options.mode === NamespaceMode.NODE) {
    if (options && (options.uids.length > 0 || options.gids.length > 0)) {
      throw invalidArgument(`pod ${pod}: user namespace mode NODE takes no id mappings`);
    }
    return undefined;
  }
  if (options.mode !== NamespaceMode.POD) {
    throw invalidArgument(`pod ${pod}: user namespace mode ${options.mode === NamespaceMode.TARGET ? 'TARGET' : options.mode === NamespaceMode.CONTAINER ? 'CONTAINER' : String(options.mode)} is not supported (POD or NODE)`);
  }
  const hostShared = (['network', 'pid', 'ipc'] as const).filter((ns) => shared[ns] === NamespaceMode.NODE);
  if (hostShared.length > 0) throw invalidArgument(`pod ${pod}: a user namespace cannot go with the node's ${hostShared.join(', ')} namespace`);
  return { uids: [checkMapping(options.uids, 'uid', pod)], gids: [checkMapping(options.gids, 'gid', pod)] };
}

/** A container's user namespace options, when given, must name its pod's. */
export function checkContainerUserNamespace(options: UserNamespace | undefined, pod: PodIdMappings | undefined, what: string): void {
  if (!options) return;
  if (options.mode === NamespaceMode.NODE && options.uids.length === 0 && options.gids.length === 0) {
    if (pod) throw invalidArgument(`${what}: asks for the node's user namespace in a pod with its own`);
    return;
  }
  if (options.mode !== NamespaceMode.POD || !pod) throw invalidArgument(`${what}: its user namespace options do not match its pod's`);
  const same = (a: IDMapping[], b: PodIdMappings['uids']) =>
    a.length === b.length && a.every((m, i) => m.containerId === b[i]!.containerID && m.hostId === b[i]!.hostID && m.length === b[i]!.size);
  if (!same(options.uids, pod.uids) || !same(options.gids, pod.gids)) throw invalidArgument(`${what}: its id mappings differ from its pod's`);
}
