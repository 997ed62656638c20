import { mkdir, stat } from 'node:fs/promises';
import type { Mount } from '../gen/runtime/v1/api.js';
import { checkMount, hostMounts } from '../oci/spec/mounts.js';

/**
 * A missing host path of a mount is created as a directory, as other runtimes do: that is how
 * kubelet's emptyDir and hostPath DirectoryOrCreate behave.
 */
export async function ensureMountSources(mounts: readonly Mount[]): Promise<void> {
  for (const m of hostMounts(mounts)) {
    checkMount(m);
    await stat(m.hostPath).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      await mkdir(m.hostPath, { recursive: true });
    });
  }
}
