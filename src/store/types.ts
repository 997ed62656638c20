import type { ResourceRequest } from '../oci/resources.js';
import type { PortMapping } from '../network/types.js';
import type { ProcessStart } from '../process/identity.js';
import type { TimelineStep } from './step-timeline.js';

/** Persisted shape of a pod sandbox. Timestamps are nanoseconds since the epoch, as strings. */
export interface SandboxRecord {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
  /** `unknown`: a failed creation could not undo every step; Stop and Remove finish the job. */
  state: 'creating' | 'ready' | 'notready' | 'unknown';
  /** Digest of the RunPodSandbox request, so that kubelet's identical retry finds this pod. */
  requestDigest?: string;
  /** Undo steps of a failed creation that still have to be done. */
  undoLeft?: string[];
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
  hostname: string;
  logDirectory: string;
  /** A privileged pod may hold privileged containers. */
  privileged: boolean;
  cgroupParent: string;
  /** CRI NamespaceMode numbers: 0 POD, 1 CONTAINER, 2 NODE, 3 TARGET. */
  namespaces: { network: number; pid: number; ipc: number; targetId: string };
  /** The pod's own user namespace (hostUsers: false): container ids → host ids. */
  userns?: { uids: { containerID: number; hostID: number; size: number }[]; gids: { containerID: number; hostID: number; size: number }[] };
  /** Pinned network namespace; empty for host-network pods. */
  netnsPath: string;
  /**
   * The pod's /dev/shm (pod/shm.ts), mounted while the pod runs when it has an IPC namespace of
   * its own; absent for a hostIPC pod, and for a pod made before cricket mounted one.
   */
  shmPath?: string;
  ips: string[];
  cniResult?: unknown;
  /** The CNI configuration ADD ran with, so DEL undoes exactly that. */
  cniConfig?: string;
  /** hostPort mappings, given to the portmap plugin on ADD and DEL. */
  portMappings: PortMapping[];
  pausePid: number;
  /** Names the pause process together with its pid: nothing is signalled or joined by pid alone. */
  pauseStart?: ProcessStart;
  /** Pod-level resources as last set by UpdatePodSandboxResources (in-place pod resize). */
  podResources?: { resources?: ResourceRequest; overhead?: ResourceRequest; updatedAt: string };
  /** RunPodSandbox's steps up to the write that made the pod ready (absent in older records). */
  timeline?: TimelineStep[];
  /** The PodSandboxConfig as protobuf JSON, kept for what later calls need from it. */
  config: unknown;
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerMount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  propagation: number;
  selinuxRelabel: boolean;
  /** Submounts read-only too (`rro`); absent in records made before it existed. */
  recursiveReadOnly?: boolean;
  /** An image volume: the image as requested, and the part of it mounted ('' for all). */
  image?: string;
  imageSubPath?: string;
}

export interface ContainerRecord {
  id: string;
  sandboxId: string;
  name: string;
  attempt: number;
  state: ContainerState;
  /** Digest of the CreateContainer request, so that kubelet's identical retry finds this container. */
  requestDigest?: string;
  /** Undo steps of a failed creation that still have to be done (state `unknown`). */
  undoLeft?: string[];
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** What the caller asked for (CRI ImageSpec.image) and what it resolved to. */
  imageSpec: string;
  imageId: string;
  imageRef: string;
  /** The name ContainerStatus shows (statusImageName); records made before it show imageSpec. */
  imageName?: string;
  logPath: string;
  mounts: ContainerMount[];
  stopSignal: string;
  pid: number;
  /** Start stamp of `pid`, checked before the pid is used. */
  pidStart?: ProcessStart;
  /**
   * The container has a PID namespace of its own, with `pid` as its first process: when that
   * process dies the kernel kills every other one in the namespace.
   */
  ownPidNamespace?: boolean;
  /** The container's conmon: when it is gone, no exit file will come and runc's state decides. */
  conmonPid?: number;
  conmonStart?: ProcessStart;
  /** runc state and rootfs mount already freed after the exit. */
  released?: boolean;
  /** Ids of the images mounted as image volumes: kept by the image collector while this record lives. */
  imageVolumeIds?: string[];
  /** Resources as last set by CreateContainer or UpdateContainerResources. */
  resources?: ResourceRequest;
  /** CreateContainer's and StartContainer's steps (absent in older records). */
  timeline?: TimelineStep[];
  /** The ContainerConfig as protobuf JSON. */
  config: unknown;
  /** Restored from this checkpoint archive: its process already runs when it is `created`. */
  restoredFrom?: string;
}
