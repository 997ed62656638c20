import { invalidArgument } from '../../errors.js';
import { MountPropagation, type Mount } from '../../gen/runtime/v1/api.js';
import type { OciMount } from '../spec-types.js';
import { defaultMounts } from './base.js';
import { imageVolumeMounts } from './image-volume-mounts.js';
import type { ContainerSpecInput, PauseSpecInput, PodFilePaths, SpecOpt } from './types.js';

const PROPAGATION: Record<number, string> = {
  [MountPropagation.PROPAGATION_PRIVATE]: 'rprivate',
  [MountPropagation.PROPAGATION_HOST_TO_CONTAINER]: 'rslave',
  [MountPropagation.PROPAGATION_BIDIRECTIONAL]: 'rshared',
};

/** The request's mounts of host paths; image volumes (Mount.image) are mounted otherwise. */
export function hostMounts(mounts: readonly Mount[]): Mount[] {
  return mounts.filter((m) => !m.image?.image);
}

/** A CRI mount needs an absolute destination and a host path; the caller checks before mkdir. */
export function checkMount(m: Pick<Mount, 'containerPath' | 'hostPath'>): void {
  if (!m.containerPath.startsWith('/')) throw invalidArgument(`mount destination "${m.containerPath}" is not absolute`);
  if (!m.hostPath) throw invalidArgument(`mount at ${m.containerPath} has no host path`);
}

/** CRI mounts become recursive bind mounts with the propagation and read-only flag asked for. */
export function bindMounts(mounts: readonly Mount[]): OciMount[] {
  return mounts.map((m) => {
    checkMount(m);
    return {
      destination: m.containerPath,
      type: 'bind',
      source: m.hostPath,
      options: ['rbind', PROPAGATION[m.propagation] ?? 'rprivate', m.readonly ? 'ro' : 'rw'],
    };
  });
}

/** The pod's shared files and /dev/shm, unless the request mounts something at the same place. */
export function podFileMounts(files: PodFilePaths, requested: readonly Pick<Mount, 'containerPath'>[], readonlyRootfs: boolean): OciMount[] {
  const taken = new Set(requested.map((m) => m.containerPath));
  const mode = readonlyRootfs ? 'ro' : 'rw';
  const candidates: [string, string][] = [
    ['/etc/hosts', files.hosts],
    ['/etc/resolv.conf', files.resolvConf],
    ['/etc/hostname', files.hostname],
  ];
  const mounts: OciMount[] = candidates
    .filter(([dest]) => !taken.has(dest))
    .map(([destination, source]) => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate', mode] }));
  // Shared memory stays writable under a read-only root, as the tmpfs it stands for would.
  if (files.shm && !taken.has('/dev/shm')) {
    mounts.push({ destination: '/dev/shm', type: 'bind', source: files.shm, options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec', 'rw'] });
  }
  return mounts;
}

/** Most restrictive propagation any mount needs, for the container's root. */
export function rootfsPropagation(mounts: readonly Pick<Mount, 'propagation'>[]): string | undefined {
  if (mounts.some((m) => m.propagation === MountPropagation.PROPAGATION_BIDIRECTIONAL)) return 'rshared';
  if (mounts.some((m) => m.propagation === MountPropagation.PROPAGATION_HOST_TO_CONTAINER)) return 'rslave';
  return undefined;
}

/**
 * The default file systems, then the pod's files, then the request's mounts. A later mount
 * shadows an earlier one at the same destination, so a requested mount replaces a default.
 */
export const withContainerMounts: SpecOpt<ContainerSpecInput> = (spec, { config, podFiles, imageVolumes, volumeSources }) => {
  const readonlyRootfs = config.linux?.securityContext?.readonlyRootfs ?? false;
  const requested = [
    ...podFileMounts(podFiles, config.mounts, readonlyRootfs),
    // A pod with its own user namespace sees its volumes through idmapped mounts of them.
    ...bindMounts(hostMounts(config.mounts)).map((m) => ({ ...m, source: volumeSources?.get(m.source ?? '') ?? m.source })),
    ...imageVolumeMounts(imageVolumes),
  ];
  const overridden = new Set(requested.map((m) => m.destination));
  spec.mounts = [...defaultMounts().filter((m) => !overridden.has(m.destination)), ...requested];
};

export const withRootfsPropagation: SpecOpt<ContainerSpecInput> = (spec, { config }) => {
  const propagation = rootfsPropagation(config.mounts);
  if (propagation) spec.linux.rootfsPropagation = propagation;
};

/** A privileged container may write to /sys and its cgroup file system. */
export const withWritableSysfs: SpecOpt<ContainerSpecInput> = (spec, { config }) => {
  if (!config.linux?.securityContext?.privileged) return;
  for (const mount of spec.mounts) {
    if (mount.type === 'sysfs' || mount.type === 'cgroup') mount.options = (mount.options ?? []).filter((o) => o !== 'ro').concat('rw');
  }
};

/**
 * The pause process needs /proc (runc's init reads /proc/self/fd, and writes the pod's sysctls
 * through /proc/sys) and a /dev for the default device nodes, not a sysfs, cgroup file system,
 * devpts, mqueue or /dev/shm of its own: containers join its network, IPC and UTS namespaces, not
 * its mounts, and mount those themselves. Each one left out is mount work runc and the kernel do
 * not do when a pod starts, nor undo when it ends (on a cgroup v1 node /sys/fs/cgroup alone is a
 * tmpfs and a bind mount per controller).
 */
const PAUSE_MOUNTS = new Set(['/proc', '/dev']);

export const withPauseMounts: SpecOpt<PauseSpecInput> = (spec) => {
  spec.mounts = defaultMounts().filter((m) => PAUSE_MOUNTS.has(m.destination));
  // Nothing is mounted at /sys to mask.
  spec.linux.maskedPaths = spec.linux.maskedPaths?.filter((p) => !p.startsWith('/sys/'));
};
