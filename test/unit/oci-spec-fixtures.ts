// Requests, images, pods and nodes for the spec builder's tests: plain data, as the callers
// hand it over after their reads of the host.
import { ContainerConfig, NamespaceMode, PodSandboxConfig } from '../../src/gen/runtime/v1/api.js';
import type { ImageConfig } from '../../src/image/types.js';
import type { ContainerSpecInput, NodeFacts, PauseSpecInput, PodFacts } from '../../src/oci/spec/types.js';

export type DeepPartial<T> = T extends Uint8Array ? T : T extends (infer U)[] ? DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

export const POD_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
export const CONTAINER_ID = 'f00dcafe0123456789abcdef0123456789abcdef0123456789abcdef01234567';
export const ROOT = '/var/lib/cricket';
export const STATE = '/run/cricket';

/** A cgroup v1 node like the test machine: no hugetlb, no swap accounting, no CAP_SYS_RESOURCE. */
export const NODE_V1: NodeFacts = {
  cgroupVersion: 1,
  hugetlb: false,
  swap: false,
  capabilities: [
    'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
    'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
    'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
    'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
    'CAP_SYS_NICE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
    'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
    'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
  ],
  minOomScoreAdj: 0,
  apparmor: false,
  selinux: false,
};

/** A cgroup v2 node with every controller. */
export const NODE_V2: NodeFacts = { ...NODE_V1, cgroupVersion: 2, hugetlb: true, swap: true, minOomScoreAdj: -500 };

export const BUSYBOX_IMAGE: ImageConfig = {
  entrypoint: [],
  cmd: ['sh'],
  env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  workingDir: '/',
  user: '',
  stopSignal: '',
  labels: {},
};

export const PAUSE_IMAGE: ImageConfig = {
  entrypoint: ['/pause'],
  cmd: [],
  env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  workingDir: '/',
  user: '65535:65535',
  stopSignal: 'SIGTERM',
  labels: {},
};

export function pod(extra: Partial<PodFacts> = {}): PodFacts {
  return {
    id: POD_ID,
    name: 'two-containers',
    namespace: 'default',
    uid: '0b5e6a1c-0000-4000-8000-000000000001',
    hostname: 'two-containers',
    privileged: false,
    namespaces: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD },
    netnsPath: `${STATE}/netns/${POD_ID}`,
    pausePid: 4242,
    ...extra,
  };
}

/** A request as kubelet (or the integration tests' harness) shapes it. */
export function request(name: string, command: string[], extra: DeepPartial<ContainerConfig> = {}): ContainerConfig {
  return ContainerConfig.fromPartial({
    metadata: { name, attempt: 0 },
    image: { image: 'cricket.local/busybox:latest' },
    command,
    logPath: `${name}/0.log`,
    ...extra,
  } as Parameters<typeof ContainerConfig.fromPartial>[0]);
}

export function containerInput(config: ContainerConfig, extra: Partial<ContainerSpecInput> = {}): ContainerSpecInput {
  const facts = extra.pod ?? pod();
  return {
    id: CONTAINER_ID,
    config,
    image: BUSYBOX_IMAGE,
    pod: facts,
    node: NODE_V1,
    rootfs: `${ROOT}/containers/${CONTAINER_ID}/rootfs`,
    podFiles: {
      resolvConf: `${ROOT}/sandboxes/${POD_ID}/resolv.conf`,
      hostname: `${ROOT}/sandboxes/${POD_ID}/hostname`,
      hosts: `${ROOT}/sandboxes/${POD_ID}/hosts`,
      // As RunPodSandbox mounts one for a pod with an IPC namespace of its own.
      shm: facts.namespaces.ipc === NamespaceMode.NODE ? undefined : `${ROOT}/sandboxes/${POD_ID}/shm`,
    },
    cgroupsPath: `/kubepods/${CONTAINER_ID}`,
    user: { uid: 0, gid: 0, additionalGids: [10] },
    targetPid: 0,
    devices: [],
    hostDevices: [],
    imageVolumes: [],
    runtime: { handler: 'runc', features: { recursiveReadOnlyMounts: true, notes: [] } },
    ...extra,
  };
}

export function podRequest(name: string, extra: DeepPartial<PodSandboxConfig> = {}): PodSandboxConfig {
  return PodSandboxConfig.fromPartial({
    metadata: { name, namespace: 'default', uid: '0b5e6a1c-0000-4000-8000-000000000001', attempt: 0 },
    hostname: name,
    logDirectory: `/var/log/pods/default_${name}`,
    labels: { app: name },
    linux: { cgroupParent: '/kubepods' },
    ...extra,
  } as Parameters<typeof PodSandboxConfig.fromPartial>[0]);
}

export function pauseInput(config: PodSandboxConfig, extra: Partial<PauseSpecInput> = {}): PauseSpecInput {
  const ns = config.linux?.securityContext?.namespaceOptions;
  const network = ns?.network ?? NamespaceMode.POD;
  return {
    config,
    image: PAUSE_IMAGE,
    pod: {
      id: POD_ID,
      name: config.metadata!.name,
      namespace: config.metadata!.namespace,
      uid: config.metadata!.uid,
      logDirectory: config.logDirectory,
      hostname: config.hostname || 'node-1',
      namespaces: { network, pid: ns?.pid ?? NamespaceMode.CONTAINER, ipc: ns?.ipc ?? NamespaceMode.POD },
      netnsPath: network === NamespaceMode.NODE ? '' : `${STATE}/netns/${POD_ID}`,
    },
    node: NODE_V1,
    rootfs: `${ROOT}/images/layers/sha256-0123/fs`,
    cgroupsPath: `/kubepods/${POD_ID}`,
    ...extra,
  };
}
