import { NamespaceMode } from '../../gen/runtime/v1/api.js';
import type { OciNamespace } from '../spec-types.js';
import type { ContainerSpecInput, PauseSpecInput, PodFacts, SpecOpt } from './types.js';

/**
 * The namespaces a container shares with its pod, joined by path from the pause process (its pid
 * is given, checked by the caller) or, for PID mode TARGET, from the target container's process.
 * The mount namespace is always the container's own and is not listed here.
 */
export function containerNamespaces(
  pod: Pick<PodFacts, 'namespaces' | 'netnsPath'>,
  pausePid: number,
  pidMode: number,
  targetPid: number,
): OciNamespace[] {
  const pauseNs = (ns: string) => `/proc/${pausePid}/ns/${ns}`;
  const list: OciNamespace[] = [];
  if (pod.namespaces.network !== NamespaceMode.NODE) {
    list.push({ type: 'network', path: pod.netnsPath }, { type: 'uts', path: pauseNs('uts') });
  }
  if (pod.namespaces.ipc !== NamespaceMode.NODE) list.push({ type: 'ipc', path: pauseNs('ipc') });
  if (pidMode === NamespaceMode.POD) list.push({ type: 'pid', path: pauseNs('pid') });
  else if (pidMode === NamespaceMode.TARGET) list.push({ type: 'pid', path: `/proc/${targetPid}/ns/pid` });
  else if (pidMode === NamespaceMode.CONTAINER) list.push({ type: 'pid' });
  return list;
}

/** The container's PID namespace mode: its own request, else the pod's. */
export function containerPidMode(input: Pick<ContainerSpecInput, 'config' | 'pod'>): number {
  return input.config.linux?.securityContext?.namespaceOptions?.pid ?? input.pod.namespaces.pid;
}

export const withContainerNamespaces: SpecOpt<ContainerSpecInput> = (spec, input) => {
  spec.linux.namespaces = [{ type: 'mount' }, ...containerNamespaces(input.pod, input.pod.pausePid, containerPidMode(input), input.targetPid)];
};

/**
 * The pause process creates the pod's namespaces: the pinned network namespace is joined, UTS,
 * IPC and PID are new unless the pod shares the node's.
 */
export function pauseNamespaces(pod: Pick<PodFacts, 'namespaces' | 'netnsPath'>, ownUserNamespace = false): OciNamespace[] {
  const list: OciNamespace[] = [];
  // A pod with its own user namespace gets a network namespace made by pause, owned by that user
  // namespace (cricket pins it after); other pods join the one cricket pinned before.
  const network: OciNamespace = ownUserNamespace ? { type: 'network' } : { type: 'network', path: pod.netnsPath };
  if (pod.namespaces.network !== NamespaceMode.NODE) list.push(network, { type: 'uts' });
  if (pod.namespaces.ipc !== NamespaceMode.NODE) list.push({ type: 'ipc' });
  if (pod.namespaces.pid !== NamespaceMode.NODE) list.push({ type: 'pid' });
  return list;
}

export const withPauseNamespaces: SpecOpt<PauseSpecInput> = (spec, { pod, userns }) => {
  spec.linux.namespaces = [{ type: 'mount' }, ...pauseNamespaces(pod, userns !== undefined)];
};

/**
 * Only a pod with its own UTS namespace gets a hostname set; a pod without one keeps the node's
 * name, as in other runtimes.
 */
export const withPauseHostname: SpecOpt<PauseSpecInput> = (spec, { config, pod }) => {
  const hostNetwork = pod.namespaces.network === NamespaceMode.NODE;
  spec.hostname = hostNetwork || !config.hostname ? undefined : pod.hostname;
};

/** The pod's sysctls, set by runc in the namespaces pause creates. */
export const withPauseSysctls: SpecOpt<PauseSpecInput> = (spec, { config }) => {
  const sysctls = config.linux?.sysctls;
  spec.linux.sysctl = sysctls && Object.keys(sysctls).length ? { ...sysctls } : undefined;
};
