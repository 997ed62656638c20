import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../log/logger.js';
import { writeFileAtomic } from './atomic-file.js';

/**
 * Records of one kind (sandboxes or containers) kept in memory for cheap List and Status calls
 * and persisted one JSON file per record, so a crash loses at most the record being written.
 */
export class RecordStore<T extends { id: string }> {
  private readonly records = new Map<string, T>();

  private constructor(private readonly dir: string) {}

  static async open<T extends { id: string }>(dir: string): Promise<RecordStore<T>> {
    await mkdir(dir, { recursive: true });
    const store = new RecordStore<T>(dir);
    for (const name of await readdir(dir)) {
      if (!name.endsWith('.json')) {
        // Leftover temp file of a write interrupted by a crash.
        if (name.includes('.tmp-')) await unlink(join(dir, name)).catch(() => undefined);
        continue;
      }
      try {
        const record = JSON.parse(await readFile(join(dir, name), 'utf8')) as T;
        store.records.set(record.id, record);
      } catch (err) {
        logger.error({ err, file: join(dir, name) }, 'unreadable state record skipped');
      }
    }
    return store;
  }

  get(id: string): T | undefined {
    return this.records.get(id);
  }

  all(): IterableIterator<T> {
    return this.records.values();
  }

  /** Persists first, then publishes in memory, so memory never runs ahead of disk. */
  async put(record: T): Promise<void> {
    await writeFileAtomic(join(this.dir, `${record.id}.json`), JSON.stringify(record));
    this.records.set(record.id, record);
  }

  async delete(id: string): Promise<void> {
    this.records.delete(id);
    await unlink(join(this.dir, `${id}.json`)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Finds by full id or unique prefix, as crictl users type them. */
  find(idOrPrefix: string): T | undefined {
    const exact = this.records.get(idOrPrefix);
    if (exact || idOrPrefix.length === 0) return exact;
    let found: T | undefined;
    for (const [id, record] of this.records) {
      if (id.startsWith(idOrPrefix)) {
        if (found) return undefined;
        found = record;
      }
    }
    return found;
  }
}
