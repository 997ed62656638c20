import { readdir, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { mountTmpfs } from '../process/mount.js';

/** The name the state tmpfs carries in mountinfo, so that it can be told from an operator's. */
export const STATE_TMPFS_SOURCE = 'cricket-state';
// statfs(2) f_type values (linux/magic.h), facts of the kernel's ABI.
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;
/** Small files only live there; a tenth of memory bounds a runaway writer. */
const TMPFS_OPTIONS = 'mode=0711,size=10%';

export type VolatileStateOutcome =
  | 'mounted a tmpfs'
  | 'already on tmpfs'
  | 'kept: a mount point of its own'
  | 'kept: not empty';

/**
 * Puts the state dir on a tmpfs when it would otherwise live on a disk, as /run does on a node
 * without systemd. What is kept there (fifos, pid files, bundles, runc's state, pinned netns)
 * means nothing after a reboot, and on a disk every pod start would create and delete a few
 * dozen inodes in it. An operator's own mount there is kept, and so is a directory that holds
 * anything: hiding the state of pods that may still run would orphan them.
 */
export async function ensureVolatileStateDir(dir: string): Promise<VolatileStateOutcome> {
  const fs = await statfs(dir);
  if (fs.type === TMPFS_MAGIC || fs.type === RAMFS_MAGIC) return 'already on tmpfs';
  const [own, parent] = await Promise.all([stat(dir), stat(dirname(dir))]);
  if (own.dev !== parent.dev) return 'kept: a mount point of its own';
  if ((await readdir(dir)).length > 0) return 'kept: not empty';
  await mountTmpfs(STATE_TMPFS_SOURCE, dir, TMPFS_OPTIONS);
  return 'mounted a tmpfs';
}
