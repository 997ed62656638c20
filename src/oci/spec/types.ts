import type { CdiEdits } from './cdi.js';
import type { PodIdMappings } from './user-namespace.js';
import type { ImageVolumeSource } from './image-volume-mounts.js';
import type { RroHandler } from './recursive-readonly.js';
import type { ContainerConfig, PodSandboxConfig } from '../../gen/runtime/v1/api.js';
import type { ImageConfig } from '../../image/types.js';
import type { SeccompProfile } from '../seccomp-default.js';
import type { OciDevice, OciSpec } from '../spec-types.js';

/**
 * What the node offers, read once by the caller: the builder never looks at the host itself.
 */
export interface NodeFacts {
  cgroupVersion: 1 | 2;
  /** The node's cgroups can limit hugepages / swap; limits they cannot enforce are left out. */
  hugetlb: boolean;
  swap: boolean;
  /** Every capability cricket may hand out (its own bounding set). */
  capabilities: readonly string[];
  /** cricket's own oom_score_adj: no process may be given less on this host. */
  minOomScoreAdj: number;
  apparmor: boolean;
  selinux: boolean;
}

/** What a container's spec needs to know about its pod. */
export interface PodFacts {
  id: string;
  /** The pod's metadata, named in the bundle's annotations. */
  name: string;
  namespace: string;
  uid: string;
  /** The pod's hostname (also the node's name for pods without one). */
  hostname: string;
  privileged: boolean;
  namespaces: { network: number; pid: number; ipc: number };
  /** The pinned network namespace; '' for host-network pods. */
  netnsPath: string;
  /** The pause process, whose namespaces the container joins. */
  pausePid: number;
}

/** A CRI device after the caller looked at the host's node for it. */
export interface ResolvedDevice {
  containerPath: string;
  hostPath: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  /** "rwm" or a part of it. */
  permissions: string;
}

/** The process user, resolved from the request and the image's /etc/passwd and /etc/group. */
export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

/** Files of the pod every container shares. */
export interface PodFilePaths {
  resolvConf: string;
  hostname: string;
  hosts: string;
  /** The pod's /dev/shm, for a container in the pod's IPC namespace; none: a tmpfs of its own. */
  shm?: string;
}

export interface ContainerSpecInput {
  id: string;
  config: ContainerConfig;
  image: ImageConfig;
  pod: PodFacts;
  node: NodeFacts;
  /** The mounted overlay root. */
  rootfs: string;
  podFiles: PodFilePaths;
  /** The container's cgroup (cgroupfs path under the pod's parent). */
  cgroupsPath: string;
  user: ProcessUser;
  /** For a PID namespace of mode TARGET: the target container's process. */
  targetPid: number;
  /** The request's devices, in its order. */
  devices: ResolvedDevice[];
  /** Every device node of the host; used by privileged containers only. */
  hostDevices: OciDevice[];
  /** The Localhost seccomp profile the request names, read by the caller. */
  localhostSeccomp?: SeccompProfile;
  /** Image volumes (Mount.image), mounted by the caller: where each goes and what it shows. */
  imageVolumes: readonly ImageVolumeSource[];
  /** The pod's runtime handler and whether it can make submounts read-only (`rro`). */
  runtime: RroHandler;
  /** The pod's user namespace mappings, when it has its own (joined through pausePid). */
  userns?: PodIdMappings;
  /** Host paths of volumes replaced by their idmapped mounts (pods with a user namespace). */
  volumeSources?: ReadonlyMap<string, string>;
  /** CDI devices' edits, resolved from the node's spec files by the caller. */
  cdiEdits?: readonly CdiEdits[];
  /** A restored checkpoint's command, used when the request gives none. */
  checkpointArgs?: readonly string[];
}

export interface PauseSpecInput {
  config: PodSandboxConfig;
  image: ImageConfig;
  /** The pod's id, hostname and namespaces as on its record. */
  pod: Omit<PodFacts, 'pausePid' | 'privileged'> & { logDirectory: string };
  node: NodeFacts;
  /** The pause image's (read-only) root. */
  rootfs: string;
  cgroupsPath: string;
  localhostSeccomp?: SeccompProfile;
  /** The pod's user namespace mappings, when it gets its own (pause makes it). */
  userns?: PodIdMappings;
}

/**
 * One rule of the spec: it reads the input and sets the part of the spec it owns. A spec is the
 * result of a list of these, applied in order to a skeleton.
 */
export type SpecOpt<I> = (spec: OciSpec, input: I) => void;

export function applyOpts<I>(spec: OciSpec, input: I, opts: readonly SpecOpt<I>[]): OciSpec {
  for (const opt of opts) opt(spec, input);
  return spec;
}
