import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../log/logger.js';
import { rewriteFileAtomic } from './atomic-file.js';
import { deepFreeze } from './freeze.js';
import { KeyedQueue } from './keyed-queue.js';
import { SpareFiles } from './spare-files.js';

/** Spare files kept per record directory: enough for a wave of 50 pods leaving and coming. */
const SPARES_KEPT = 64;

export interface RecordStoreOptions<T> {
  /** A secondary key (e.g. the pod of a container) for `byGroup`, kept as records change. */
  groupOf?: (record: T) => string;
  /**
   * fsync a new record before it is published (default true). A record that names something
   * only it can lead back to after a power loss (a pod's address in an operator's CNI network)
   * must be durable; one whose on-disk leftovers start-up recovery finds by their own names
   * need not be.
   */
  durableCreate?: boolean;
}

/**
 * Records of one kind (sandboxes or containers) kept in memory for cheap List and Status calls
 * and persisted one JSON file per record, so a crash loses at most the record being written.
 *
 * Records are handed out frozen: the only way to change one is `update(id, fn)`, which runs
 * under that record's own lock and gives `fn` the current record, read inside the lock. Two
 * updates of one record can therefore never overwrite each other's change.
 */
export class RecordStore<T extends { id: string }> {
  private readonly records = new Map<string, Readonly<T>>();
  private readonly groups = new Map<string, Set<string>>();
  private readonly writes = new KeyedQueue();
  private readonly spares: SpareFiles;

  private constructor(
    private readonly dir: string,
    private readonly opts: RecordStoreOptions<T>,
  ) {
    this.spares = new SpareFiles(dir, SPARES_KEPT);
  }

  static async open<T extends { id: string }>(dir: string, opts: RecordStoreOptions<T> = {}): Promise<RecordStore<T>> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new RecordStore<T>(dir, opts);
    for (const name of await readdir(dir)) {
      if (!name.endsWith('.json')) {
        if (SpareFiles.isSpare(name)) await store.spares.adopt(name);
        // Leftover temp file of a write interrupted by a crash.
        else if (name.includes('.tmp-')) await unlink(join(dir, name)).catch(() => undefined);
        continue;
      }
      try {
        const record = JSON.parse(await readFile(join(dir, name), 'utf8')) as T;
        store.publish(record);
      } catch (err) {
        logger.error({ err, file: join(dir, name) }, 'unreadable state record skipped');
      }
    }
    return store;
  }

  get(id: string): Readonly<T> | undefined {
    return this.records.get(id);
  }

  all(): IterableIterator<Readonly<T>> {
    return this.records.values();
  }

  get size(): number {
    return this.records.size;
  }

  /** Records whose group key (see `groupOf`) is `key`, e.g. the containers of one pod. */
  byGroup(key: string): Readonly<T>[] {
    const ids = this.groups.get(key);
    if (!ids) return [];
    const result: Readonly<T>[] = [];
    for (const id of ids) {
      const record = this.records.get(id);
      if (record) result.push(record);
    }
    return result;
  }

  /** Persists a new record, then publishes it. Fails if the id is taken. */
  async create(record: T): Promise<Readonly<T>> {
    return this.writes.run(record.id, async () => {
      if (this.records.has(record.id)) throw new Error(`record ${record.id} already exists`);
      await this.persist(record, this.opts.durableCreate ?? true);
      return this.publish(record);
    });
  }

  /**
   * Changes one record: `fn` gets the current record, read under the record's lock, and returns
   * the new one (or undefined to leave it as it is). Persists first, then publishes, so memory
   * never runs ahead of disk. Resolves to the record as it is afterwards (undefined if absent).
   */
  async update(id: string, fn: (current: Readonly<T>) => T | undefined): Promise<Readonly<T> | undefined> {
    return this.writes.run(id, async () => {
      const current = this.records.get(id);
      if (!current) return undefined;
      const next = fn(current);
      if (next === undefined || next === current) return current;
      if (next.id !== id) throw new Error(`record ${id}: an update may not change the id`);
      await this.persist(next, false);
      return this.publish(next);
    });
  }

  async delete(id: string): Promise<void> {
    await this.writes.run(id, async () => {
      await this.spares.retire(join(this.dir, `${id}.json`)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      const record = this.records.get(id);
      this.records.delete(id);
      if (record && this.opts.groupOf) this.ungroup(this.opts.groupOf(record), id);
    });
  }

  /** Finds by full id or unique prefix, as crictl users type them. */
  find(idOrPrefix: string): Readonly<T> | undefined {
    const exact = this.records.get(idOrPrefix);
    if (exact || idOrPrefix.length === 0) return exact;
    let found: Readonly<T> | undefined;
    for (const [id, record] of this.records) {
      if (id.startsWith(idOrPrefix)) {
        if (found) return undefined;
        found = record;
      }
    }
    return found;
  }

  /**
   * Every write is whole (a spare file filled, then exchanged with the record). A new record may
   * be made durable (fsync, see `durableCreate`); an update is not synced: it only moves a record
   * between states that start-up recovery re-derives from runc, pids and exit files, and after a
   * power loss none of its processes is left. That spares an fsync on every StartContainer, exit
   * and stop.
   */
  private async persist(record: T, durable: boolean): Promise<void> {
    const spare = this.spares.take();
    const kept = await rewriteFileAtomic(join(this.dir, `${record.id}.json`), JSON.stringify(record), spare, { mode: 0o600, fsync: durable });
    if (kept) this.spares.give(spare);
  }

  private publish(record: T): Readonly<T> {
    const frozen = deepFreeze(record);
    const previous = this.records.get(record.id);
    this.records.set(record.id, frozen);
    const groupOf = this.opts.groupOf;
    if (groupOf) {
      const key = groupOf(frozen);
      if (previous && groupOf(previous) !== key) this.ungroup(groupOf(previous), record.id);
      let ids = this.groups.get(key);
      if (!ids) this.groups.set(key, (ids = new Set()));
      ids.add(record.id);
    }
    return frozen;
  }

  private ungroup(key: string, id: string): void {
    const ids = this.groups.get(key);
    if (!ids) return;
    ids.delete(id);
    if (ids.size === 0) this.groups.delete(key);
  }
}
