import { mkdir, stat } from 'node:fs/promises';
import { invalidArgument } from '../errors.js';
import { MountPropagation } from '../gen/runtime/v1/api.js';
import type { OciMount } from '../oci/spec-types.js';
import type { PodFiles } from '../pod/files.js';
import type { ContainerMount } from '../store/types.js';

const PROPAGATION: Record<number, string> = {
  [MountPropagation.PROPAGATION_PRIVATE]: 'rprivate',
  [MountPropagation.PROPAGATION_HOST_TO_CONTAINER]: 'rslave',
  [MountPropagation.PROPAGATION_BIDIRECTIONAL]: 'rshared',
};

/**
 * CRI mounts become recursive bind mounts. A missing host path is created as a directory, as
 * other runtimes do: that is how kubelet's emptyDir and hostPath DirectoryOrCreate behave.
 */
export async function bindMounts(mounts: ContainerMount[]): Promise<OciMount[]> {
  const result: OciMount[] = [];
  for (const m of mounts) {
    if (!m.containerPath.startsWith('/')) throw invalidArgument(`mount destination "${m.containerPath}" is not absolute`);
    if (!m.hostPath) throw invalidArgument(`mount at ${m.containerPath} has no host path`);
    await stat(m.hostPath).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      await mkdir(m.hostPath, { recursive: true });
    });
    result.push({
      destination: m.containerPath,
      type: 'bind',
      source: m.hostPath,
      options: ['rbind', PROPAGATION[m.propagation] ?? 'rprivate', m.readonly ? 'ro' : 'rw'],
    });
  }
  return result;
}

/** Most restrictive propagation any mount needs, for the container's root. */
export function rootfsPropagation(mounts: ContainerMount[]): string | undefined {
  if (mounts.some((m) => m.propagation === MountPropagation.PROPAGATION_BIDIRECTIONAL)) return 'rshared';
  if (mounts.some((m) => m.propagation === MountPropagation.PROPAGATION_HOST_TO_CONTAINER)) return 'rslave';
  return undefined;
}

/** The pod's shared files, unless the request mounts something at the same place. */
export function podFileMounts(files: PodFiles, requested: ContainerMount[], readonlyRootfs: boolean): OciMount[] {
  const taken = new Set(requested.map((m) => m.containerPath));
  const mode = readonlyRootfs ? 'ro' : 'rw';
  const candidates: [string, string][] = [
    ['/etc/hosts', files.hosts],
    ['/etc/resolv.conf', files.resolvConf],
    ['/etc/hostname', files.hostname],
  ];
  return candidates
    .filter(([dest]) => !taken.has(dest))
    .map(([destination, source]) => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate', mode] }));
}
