import { randomBytes } from 'node:crypto';
import { rename, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Names of spare files: a leading dot and no `.json`, so no reader takes one for a record. */
const SPARE = /^\.spare-[0-9a-f]+-\d+$/;

/**
 * Spare files of one record directory. A record write fills a spare and exchanges it with the
 * record (rewriteFileAtomic), and a deleted record's file becomes a spare, so records that come
 * and go reuse the same few inodes: on ext4 without a journal every new inode is checked against
 * those freed in the last half minute, 0.1-0.5 ms of CPU each while pods come and go.
 *
 * At most `limit` spares are kept; the ones beyond it are deleted. A spare holds nothing: a
 * retired record is emptied, and a write overwrites whatever a crash left in one.
 */
export class SpareFiles {
  private readonly free: string[] = [];
  private readonly prefix = `.spare-${randomBytes(4).toString('hex')}-`;
  private next = 0;

  constructor(
    private readonly dir: string,
    private readonly limit: number,
  ) {}

  /** True for a spare's name (found in the directory at start-up). */
  static isSpare(name: string): boolean {
    return SPARE.test(name);
  }

  /** A spare found at start-up: kept while there is room, else deleted. */
  async adopt(name: string): Promise<void> {
    if (this.free.length < this.limit) this.free.push(join(this.dir, name));
    else await unlink(join(this.dir, name)).catch(() => undefined);
  }

  /** A spare's path for one write: a free one, or a new name (the write makes the file). */
  take(): string {
    return this.free.pop() ?? join(this.dir, `${this.prefix}${this.next++}`);
  }

  /** A spare back after a write that kept it; deleted when there are enough. */
  give(path: string): void {
    if (this.free.length < this.limit) this.free.push(path);
    else void unlink(path).catch(() => undefined);
  }

  /**
   * Removes the record file `path`: renamed into a spare (then emptied) while there is room,
   * else deleted. Resolves once `path` is gone; ENOENT when it was not there.
   */
  async retire(path: string): Promise<void> {
    if (this.free.length >= this.limit) {
      await unlink(path);
      return;
    }
    const spare = join(this.dir, `${this.prefix}${this.next++}`);
    await rename(path, spare);
    // Emptied so that no old record (a container's environment among it) lingers in a spare.
    await truncate(spare, 0).then(
      () => this.give(spare),
      () => void unlink(spare).catch(() => undefined),
    );
  }

  /** How many spares are free (tests read it). */
  get size(): number {
    return this.free.length;
  }
}
