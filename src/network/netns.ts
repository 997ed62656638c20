import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { alreadyExists, isErrno, withContext } from '../errors.js';
import { pinNewNetns, unmount } from '../process/mount.js';

/** statfs f_type of nsfs: a path whose filesystem is nsfs is a live namespace reference. */
const NSFS_MAGIC = 0x6e736673;
/** A netns can be pinned more than once on the same path; unmount at most this many layers. */
const MAX_UNMOUNTS = 8;

export interface PinnedNetns {
  /** File name in the directory (the pod id for /run/cricket/netns/<podId>). */
  name: string;
  path: string;
  /** False for a stale file whose namespace is no longer mounted on it. */
  mounted: boolean;
}

/** True when `p` is (a bind mount of) a namespace file; false when missing or a plain file. */
export async function isNetnsMounted(p: string): Promise<boolean> {
  try {
    const st = await fsp.statfs(p);
    return st.type === NSFS_MAGIC;
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    throw err;
  }
}

/**
 * Creates a new network namespace and pins it with a bind mount at `p`, so that it outlives
 * every process in it and teardown can reach it after a crash. native/cricket-mount does the
 * unshare(2) + bind mount in one short-lived process; nothing stays running.
 */
export async function createPinnedNetns(p: string): Promise<void> {
  await fsp.mkdir(path.dirname(p), { recursive: true, mode: 0o755 });
  try {
    // The bind mount needs an existing file to land on.
    const fh = await fsp.open(p, 'wx', 0o444);
    await fh.close();
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw withContext(`create netns file ${p}`, err);
    if (await isNetnsMounted(p)) throw alreadyExists(`network namespace already pinned at ${p}`);
    // A stale empty file from an earlier crash: reuse it.
  }
  try {
    await pinNewNetns(p);
  } catch (err) {
    await removePinnedNetns(p).catch(() => undefined);
    throw withContext(`create network namespace at ${p}`, err);
  }
}

/**
 * Unpins the namespace at `p` and removes the file. Lazy unmount: the kernel frees the
 * namespace once the last process in it is gone. No error when the path is already gone.
 */
export async function removePinnedNetns(p: string): Promise<void> {
  for (let i = 0; i < MAX_UNMOUNTS && (await isNetnsMounted(p)); i++) {
    try {
      await unmount(p, true);
    } catch (err) {
      // A concurrent remove may have won the race; only fail if it is still mounted.
      if (await isNetnsMounted(p)) throw withContext(`unmount network namespace ${p}`, err);
    }
  }
  try {
    await fsp.unlink(p);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw withContext(`remove network namespace file ${p}`, err);
  }
}

/** Namespace files under `dir` (for reconciliation at start-up); empty when `dir` is missing. */
export async function listPinned(dir: string): Promise<PinnedNetns[]> {
  let names: string[];
  try {
    const entries = await fsp.readdir(dir, { withFileTypes: true });
    names = entries.filter((e) => !e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw withContext(`list network namespaces in ${dir}`, err);
  }
  names.sort();
  return Promise.all(
    names.map(async (name) => {
      const p = path.join(dir, name);
      return { name, path: p, mounted: await isNetnsMounted(p) };
    }),
  );
}
