import { lstat, readdir, realpath } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { invalidArgument, notFound, withContext } from '../errors.js';
import type { Mount } from '../gen/runtime/v1/api.js';
import { mountRootfs, unmountRootfs } from '../image/rootfs.js';
import type { ImageRecord } from '../image/types.js';
import type { ImageVolumeSource } from '../oci/spec/image-volume-mounts.js';
import type { RuntimeContext } from '../runtime-context.js';

/** Where a container's image volumes are mounted, one numbered directory each. */
export const imageVolumesDir = (ctx: RuntimeContext, containerId: string): string => join(ctx.paths.containerDir(containerId), 'image-volumes');

/** An image volume of a CreateContainer request, its image resolved. */
export interface ImageVolumeRequest {
  containerPath: string;
  image: ImageRecord;
  subPath: string;
}

/** Bounds a request: kubelet sends a handful of image volumes at most. */
const MAX_IMAGE_VOLUMES = 64;

/**
 * A sub path as relative path segments: absolute paths and `..` are refused before anything is
 * mounted (symlinks are checked once the image is mounted, see mountImageVolumes).
 */
export function imageSubPathSegments(subPath: string): string[] {
  if (!subPath) return [];
  if (subPath.length > 4096 || subPath.includes('\0')) throw invalidArgument('image_sub_path is too long or holds a NUL byte');
  if (subPath.startsWith('/')) throw invalidArgument(`image_sub_path "${subPath}" is absolute; it must be relative to the image`);
  const segments = subPath.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw invalidArgument(`image_sub_path "${subPath}" leaves the image`);
  return segments;
}

/** The image mounts of a request, each image resolved (NOT_FOUND if it was not pulled). */
export function imageVolumeRequests(ctx: RuntimeContext, mounts: readonly Mount[]): ImageVolumeRequest[] {
  const wanted = mounts.filter((m) => m.image?.image);
  if (wanted.length > MAX_IMAGE_VOLUMES) throw invalidArgument(`${wanted.length} image volumes; at most ${MAX_IMAGE_VOLUMES}`);
  return wanted.map((m) => {
    if (!m.containerPath.startsWith('/')) throw invalidArgument(`mount destination "${m.containerPath}" is not absolute`);
    const image = ctx.images.resolve(m.image!.image);
    if (!image) throw notFound(`image "${m.image!.image}" of the volume at ${m.containerPath} not found`);
    imageSubPathSegments(m.imageSubPath);
    return { containerPath: m.containerPath, image, subPath: m.imageSubPath };
  });
}

/** Holds the images a request mounts, as the container's own image is held, until it is on record. */
export function leaseVolumeImages(ctx: RuntimeContext, mounts: readonly Mount[]): () => void {
  const releases = mounts.flatMap((m) => {
    const id = m.image?.image ? ctx.images.resolve(m.image.image)?.id : undefined;
    return id ? [ctx.imageLeases.acquire(id)] : [];
  });
  return () => releases.forEach((release) => release());
}

/**
 * Mounts each image read-only (an overlay of its layers with no upper dir) under the container's
 * state directory, and returns what to bind into the container: the whole image or its sub path.
 * A sub path is resolved inside the mounted image; one that a symlink leads out of is refused.
 * On failure what was mounted is unmounted again.
 */
export async function mountImageVolumes(ctx: RuntimeContext, containerId: string, volumes: readonly ImageVolumeRequest[]): Promise<ImageVolumeSource[]> {
  const dir = imageVolumesDir(ctx, containerId);
  const sources: ImageVolumeSource[] = [];
  try {
    for (const [i, v] of volumes.entries()) {
      const target = join(dir, String(i));
      await mountRootfs({ layers: ctx.images.layerDirs(v.image), target }).catch((err) => {
        throw withContext(`image volume ${v.image.id} at ${v.containerPath}`, err);
      });
      sources.push({ containerPath: v.containerPath, source: await subPathSource(target, v.subPath) });
    }
    return sources;
  } catch (err) {
    await unmountImageVolumes(ctx, containerId);
    throw err;
  }
}

async function subPathSource(mountPoint: string, subPath: string): Promise<string> {
  const segments = imageSubPathSegments(subPath);
  if (segments.length === 0) return mountPoint;
  const root = await realpath(mountPoint);
  const wanted = join(root, ...segments);
  const real = await realpath(wanted).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.code === 'ELOOP') throw invalidArgument(`image_sub_path "${subPath}" does not exist in the image`);
    throw err;
  });
  // Symlinks are resolved by the host: one that points outside the mounted image is refused.
  if (real !== root && !real.startsWith(root + sep)) throw invalidArgument(`image_sub_path "${subPath}" leads out of the image`);
  const kind = await lstat(real);
  if (!kind.isDirectory() && !kind.isFile()) throw invalidArgument(`image_sub_path "${subPath}" is neither a directory nor a regular file`);
  return real;
}

/** Unmounts every image volume of a container (idempotent; works from the directory alone). */
export async function unmountImageVolumes(ctx: RuntimeContext, containerId: string): Promise<void> {
  const dir = imageVolumesDir(ctx, containerId);
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const name of entries) {
    if (posix.basename(name) !== name) continue;
    await unmountRootfs(join(dir, name));
  }
}
