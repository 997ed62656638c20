import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * The checkpoint archive as CRI-O and Podman write it (and checkpointctl reads it): a tar of
 *   checkpoint/        CRIU's images of the processes
 *   config.dump        who the container was: id, name, image, runtime, creation time
 *   spec.dump          its OCI config.json
 *   rootfs-diff.tar    the files it changed in its writable layer
 *   deleted.files      JSON list of the image files it deleted
 */
export const ARCHIVE = {
  checkpointDir: 'checkpoint',
  configDump: 'config.dump',
  specDump: 'spec.dump',
  rootfsDiff: 'rootfs-diff.tar',
  deletedFiles: 'deleted.files',
} as const;

export interface ConfigDump {
  id: string;
  name: string;
  rootfsImage: string;
  rootfsImageRef: string;
  rootfsImageName: string;
  runtime: string;
  createdTime: string;
}

/** An overlay whiteout is a 0/0 character device: the file it shadows was deleted. */
const MAX_ENTRIES = 1_000_000;

/** Walks the writable layer for deleted files (whiteouts), bounded, never following links. */
export async function whiteouts(upper: string): Promise<string[]> {
  const found: string[] = [];
  let seen = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (++seen > MAX_ENTRIES) throw new Error(`writable layer ${upper} has more than ${MAX_ENTRIES} entries`);
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isCharacterDevice()) {
        const st = await lstat(path, { bigint: true });
        if (st.rdev === 0n) found.push(relative(upper, path));
      }
    }
  };
  await walk(upper);
  return found;
}
