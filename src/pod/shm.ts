import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { withContext } from '../errors.js';
import { unmountRootfs } from '../image/rootfs.js';
import { mountTmpfs } from '../process/mount.js';

/*
 * A pod's /dev/shm: one tmpfs in the sandbox's directory, mounted at /dev/shm in every container
 * that shares the pod's IPC namespace, so that POSIX shared memory (shm_open, files in /dev/shm)
 * is shared across the pod as System V shared memory is. It lives from RunPodSandbox to
 * StopPodSandbox; a hostIPC pod has none (its containers keep a /dev/shm of their own).
 */

/** The size the other CRI runtimes give a pod's /dev/shm when nothing else is asked for. */
const SHM_OPTIONS = 'mode=1777,size=65536k';

export function podShmPath(sandboxDir: string): string {
  return join(sandboxDir, 'shm');
}

export async function mountPodShm(path: string): Promise<void> {
  try {
    await mkdir(path, { mode: 0o755 });
    await mountTmpfs('shm', path, SHM_OPTIONS);
  } catch (err) {
    throw withContext(`mounting the pod's /dev/shm at ${path}`, err);
  }
}

/** Idempotent: nothing mounted there, or no such directory, is success. */
export function unmountPodShm(path: string): Promise<void> {
  return unmountRootfs(path);
}
