// Names and short ids → the pod or container they mean, from the daemon's List calls.
import {
  ListContainersRequest, ListPodSandboxRequest, PodSandboxState,
  type Container, type ListContainersResponse, type ListPodSandboxResponse, type PodSandbox,
} from '../../gen/runtime/v1/api.js';
import type { Cri } from '../cri-client.js';

export async function listPods(cri: Cri): Promise<PodSandbox[]> {
  return (await cri.call<ListPodSandboxRequest, ListPodSandboxResponse>(cri.runtime, 'listPodSandbox', ListPodSandboxRequest.fromPartial({}), 30_000)).items;
}

export async function listContainers(cri: Cri, podSandboxId = ''): Promise<Container[]> {
  return (await cri.call<ListContainersRequest, ListContainersResponse>(cri.runtime, 'listContainers', ListContainersRequest.fromPartial({ filter: { podSandboxId } }), 30_000)).containers;
}

const newestFirst = <T extends { createdAt: bigint }>(a: T, b: T) => (b.createdAt > a.createdAt ? 1 : b.createdAt < a.createdAt ? -1 : 0);

/** A pod by id, unique id prefix, NAME or NAMESPACE/NAME (a ready one before stopped ones). */
export async function resolvePod(cri: Cri, ref: string): Promise<PodSandbox> {
  const pods = await listPods(cri);
  const exact = pods.find((p) => p.id === ref);
  if (exact) return exact;
  const [ns, name] = ref.includes('/') ? ref.split('/', 2) as [string, string] : [undefined, ref];
  const byName = pods.filter((p) => p.metadata?.name === name && (ns === undefined || p.metadata.namespace === ns)).sort(newestFirst);
  if (byName.length) {
    const ready = byName.filter((p) => p.state === PodSandboxState.SANDBOX_READY);
    const namespaces = new Set(byName.map((p) => p.metadata!.namespace));
    if (namespaces.size > 1) throw new Error(`pod name "${ref}" is in several namespaces (${[...namespaces].join(', ')}); say NAMESPACE/NAME`);
    return ready[0] ?? byName[0]!;
  }
  if (/^[0-9a-f]+$/.test(ref)) {
    const byPrefix = pods.filter((p) => p.id.startsWith(ref));
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) throw new Error(`id prefix "${ref}" matches ${byPrefix.length} pods; give more of the id`);
  }
  throw new Error(`no pod "${ref}"`);
}

/**
 * A container: by id or id prefix, or in a pod (by name or id) by `-c NAME`, or the pod's first
 * container when it has one name only or none is given (said on stderr, as kubectl does).
 */
export async function resolveContainer(cri: Cri, ref: string, containerName?: string, warn: (line: string) => void = () => undefined): Promise<Container> {
  if (!containerName && /^[0-9a-f]+$/.test(ref)) {
    const all = await listContainers(cri);
    const exact = all.find((c) => c.id === ref);
    if (exact) return exact;
    const byPrefix = all.filter((c) => c.id.startsWith(ref));
    if (byPrefix.length === 1) return byPrefix[0]!;
  }
  const pod = await resolvePod(cri, ref);
  const containers = (await listContainers(cri, pod.id)).sort(newestFirst);
  const label = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  if (containerName) {
    const found = containers.find((c) => c.metadata?.name === containerName);
    if (!found) throw new Error(`pod ${label} has no container "${containerName}" (it has: ${[...new Set(containers.map((c) => c.metadata?.name))].join(', ') || 'none'})`);
    return found;
  }
  const names = [...new Set([...containers].reverse().map((c) => c.metadata!.name))];
  if (!names.length) throw new Error(`pod ${label} has no containers`);
  if (names.length > 1) warn(`Defaulted container "${names[0]}" out of: ${names.join(', ')}`);
  return containers.find((c) => c.metadata!.name === names[0])!;
}
