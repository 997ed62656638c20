import { chmod, chown, lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../log/logger.js';
import type { PodIdMappings } from '../oci/spec/user-namespace.js';
import type { OciMount } from '../oci/spec-types.js';
import { bindMount, idmapMount, unmount } from '../process/mount.js';

/**
 * Idmapped mounts for a pod with its own user namespace. The runc here (1.1) cannot make them
 * itself, so cricket makes them, staged under the container's directory, before `runc create`:
 * the overlay keeps private clones of its layers and runc binds the volumes into the container's
 * mount namespace, so the staged mounts are detached again right after.
 */
/**
 * A pod's own root is no root on the host, and runc mounts the rootfs, pod files and volumes
 * from inside the pod's user namespace: the directories on those paths must let the pod's root
 * through. The pod's directory is entered by the pod's root group alone (0710, group = its host
 * gid); the parent of all pods' directories may be entered, never listed, once a pod with its
 * own user namespace exists (0711).
 */
export async function openToPodRoot(dir: string, parent: string, mappings: PodIdMappings): Promise<void> {
  await chmod(parent, 0o711);
  await chown(dir, 0, mappings.gids[0]!.hostID);
  await chmod(dir, 0o710);
}

export const idmapStagingDir = (containerDir: string): string => join(containerDir, 'idmap');

/** Each image layer as an idmapped mount: the image's root-owned files become the pod root's. */
export async function stageIdmappedLayers(layers: readonly string[], staging: string, userns: string): Promise<string[]> {
  await mkdir(staging, { recursive: true, mode: 0o700 });
  const staged: string[] = [];
  for (const [i, layer] of layers.entries()) {
    const target = join(staging, `l${i}`);
    await mkdir(target, { mode: 0o700 });
    await idmapMount(layer, target, userns);
    staged.push(target);
  }
  return staged;
}

/** The writable layer's root belongs to the pod's root, so that the container can write `/`. */
export async function chownUpper(upper: string, mappings: PodIdMappings): Promise<void> {
  await chown(upper, mappings.uids[0]!.hostID, mappings.gids[0]!.hostID);
}

/**
 * The CRI bind mounts' sources replaced by idmapped mounts of them, so that a volume's files
 * appear with the owners they have on the host, seen from inside. A filesystem that cannot be
 * idmapped keeps its plain bind (its files then appear owned by the overflow id).
 */
export async function stageIdmappedVolumes(mounts: OciMount[], sources: Set<string>, staging: string, userns: string, mappings: PodIdMappings, log: typeof logger): Promise<OciMount[]> {
  await mkdir(staging, { recursive: true, mode: 0o700 });
  await chown(staging, 0, mappings.gids[0]!.hostID);
  await chmod(staging, 0o710);
  const out: OciMount[] = [];
  for (const [i, m] of mounts.entries()) {
    if (m.type !== 'bind' || !m.source || !sources.has(m.source)) {
      out.push(m);
      continue;
    }
    const target = join(staging, `v${i}`);
    try {
      const st = await lstat(m.source);
      if (st.isDirectory()) await mkdir(target, { mode: 0o700 });
      else await writeFile(target, '', { mode: 0o600 });
      await idmapMount(m.source, target, userns);
      out.push({ ...m, source: target });
    } catch (err) {
      log.warn({ source: m.source, err: (err as Error).message }, 'volume cannot be idmapped; bound as it is');
      await rm(target, { force: true, recursive: false }).catch(() => undefined);
      out.push(m);
    }
  }
  return out;
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/**
 * Detaches every staged mount and removes the staging directory. Idempotent. The directory is
 * removed only once nothing is mounted under it: a recursive removal through a mounted volume
 * would delete the volume's files.
 */
export async function releaseIdmapStaging(staging: string): Promise<void> {
  // Nothing can be mounted under a directory that does not exist: the common case, a pod without
  // a user namespace, costs one lstat instead of two reads of the mount table.
  if (!(await lstat(staging).then(() => true, (err: NodeJS.ErrnoException) => err.code !== 'ENOENT'))) return;
  const prefix = `${staging}/`;
  const mounted = () =>
    readFile('/proc/self/mountinfo', 'utf8').then((text) =>
      text.split('\n').map((line) => unescape(line.split(' ')[4] ?? '')).filter((p) => p.startsWith(prefix)),
    );
  for (const path of (await mounted()).reverse()) await unmount(path, true);
  const left = await mounted();
  if (left.length > 0) throw new Error(`idmapped mounts still under ${staging}: ${left.join(', ')}`);
  await rm(staging, { recursive: true, force: true });
}

/**
 * The pause image's layer, bound read-only where the pod's root can reach it (the user namespace
 * does not exist before pause makes it, so no idmap: its files stay the overflow id's, readable).
 */
export async function stagePauseRootfs(layer: string, staging: string, mappings: PodIdMappings): Promise<string> {
  const target = join(staging, 'rootfs');
  await mkdir(target, { recursive: true, mode: 0o700 });
  await chown(staging, 0, mappings.gids[0]!.hostID);
  await chmod(staging, 0o710);
  await bindMount(layer, target, true);
  return target;
}

/**
 * The idmapped stand-ins of volume sources (host paths), staged under `staging`: host path to
 * staged path, for the spec's bind mounts. A source that cannot be idmapped is left out (bound as
 * it is, with a warning).
 */
export async function stageIdmappedSources(sources: readonly string[], staging: string, userns: string, mappings: PodIdMappings, log: typeof logger): Promise<Map<string, string>> {
  const unique = [...new Set(sources)];
  const staged = await stageIdmappedVolumes(unique.map((source) => ({ type: 'bind', source, destination: source })), new Set(unique), staging, userns, mappings, log);
  const map = new Map<string, string>();
  staged.forEach((m, i) => {
    if (m.source && m.source !== unique[i]) map.set(unique[i]!, m.source);
  });
  return map;
}
