import { existsSync, lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SingleFlight } from '../store/keyed-queue.js';

export interface DiskUsage {
  /** Allocated blocks, in bytes. */
  bytes: number;
  inodes: number;
}

/** Blobs and unpacked layers are named by their digest, and never change once named. */
const CONTENT_NAME = /^[0-9a-f]{64}$/;

/**
 * A listing is reused only for a directory last changed this long before it was read. File times
 * come from a coarse clock (a tick of a few ms): a change in the same tick as the listing would
 * leave the directory's times as they were, and the listing stale.
 */
const SETTLED_MS = 2000;

/** Entries of a tree looked at together while it is walked (lstat calls in flight). */
const WALK_BATCH = 64;

interface Listing {
  /** The directory's inode and change times when it was read. */
  stamp: string;
  /** Whether the stamp can vouch for the listing (SETTLED_MS). */
  settled: boolean;
  names: string[];
  /** Usage of the digest-named entries in it, taken once. */
  named: Map<string, DiskUsage>;
}

/**
 * The image store's disk usage, for ImageFsInfo, which kubelet asks for every few seconds. A walk
 * of the whole store on each call would stat every blob and every file of every layer's tree;
 * here the store's own directories (its root, `blobs/` and below, `layers/`) are listed again only
 * when their times change, and what is named by a digest (a blob, a complete layer) is measured
 * once. Trees (a new layer, a layer being unpacked, `tmp/`) are walked through the thread pool, a
 * batch of entries at a time, so that a layer of a million files never holds the event loop; a
 * settled store is counted without leaving it.
 */
export class StoreUsage {
  private readonly listings = new Map<string, Listing>();
  private readonly walks = new SingleFlight<DiskUsage>();

  /** `settledMs`: how long a directory must have been left alone for its listing to be kept. */
  constructor(
    private readonly root: string,
    private readonly settledMs = SETTLED_MS,
  ) {}

  /** The usage now: at once when no tree needs a walk (a settled store), else once walked. */
  measure(): DiskUsage | Promise<DiskUsage> {
    const total: DiskUsage = { bytes: 0, inodes: 0 };
    const visited = new Set<string>();
    const trees: Promise<void>[] = [];
    this.visitStoreDir(this.root, total, visited, trees);
    // Directories gone from the store take their listings with them.
    for (const dir of this.listings.keys()) if (!visited.has(dir)) this.listings.delete(dir);
    return trees.length === 0 ? total : Promise.all(trees).then(() => total);
  }

  /** The store's own directories: root, blobs/ and its subdirectories, layers/. */
  private isStoreDir(parent: string, name: string): boolean {
    if (parent === this.root) return name === 'blobs' || name === 'layers';
    return parent === join(this.root, 'blobs');
  }

  private visitStoreDir(path: string, total: DiskUsage, visited: Set<string>, trees: Promise<void>[]): void {
    const st = lstatQuiet(path);
    if (!st?.isDirectory()) return;
    visited.add(path);
    add(total, ownUsage(st));
    const listing = this.listing(path, st);
    for (const name of listing.names) {
      const known = listing.named.get(name);
      if (known) {
        add(total, known);
        continue;
      }
      const child = join(path, name);
      if (this.isStoreDir(path, name)) {
        this.visitStoreDir(child, total, visited, trees);
        continue;
      }
      const cst = lstatQuiet(child);
      if (!cst) continue;
      // A digest-named file is a whole blob (written aside, then renamed); a digest-named
      // directory is a whole layer once its layer.json is there (unpacked aside, then renamed).
      const whole = CONTENT_NAME.test(name) && (!cst.isDirectory() || existsSync(join(child, 'layer.json')));
      // A file, or an empty directory (tmp/ between pulls), is counted here and now.
      if (!cst.isDirectory() || isEmptyDir(child)) {
        const usage = ownUsage(cst);
        add(total, usage);
        if (whole) listing.named.set(name, usage);
        continue;
      }
      trees.push(
        this.walks.run(child, () => walkTree(child)).then((usage) => {
          add(total, usage);
          if (whole) listing.named.set(name, usage);
        }),
      );
    }
  }

  private listing(path: string, st: BigIntStats): Listing {
    const stamp = `${st.ino}:${st.mtimeNs}:${st.ctimeNs}`;
    const kept = this.listings.get(path);
    if (kept?.settled && kept.stamp === stamp) return kept;
    const changed = Math.max(Number(st.mtimeNs / 1_000_000n), Number(st.ctimeNs / 1_000_000n));
    const settled = Date.now() - changed > this.settledMs;
    let names: string[] = [];
    try {
      names = readdirSync(path);
    } catch {
      // Removed while we looked: counts as empty.
    }
    const named = new Map<string, DiskUsage>();
    for (const name of names) {
      const usage = kept?.named.get(name);
      if (usage) named.set(name, usage);
    }
    const listing = { stamp, settled, names, named };
    this.listings.set(path, listing);
    return listing;
  }
}

/**
 * Every inode under `root` (itself included) once, hard links counted once, through the thread
 * pool: one directory at a time, its entries looked at WALK_BATCH at a time. Only directories
 * wait in the stack, never the files of a wide tree.
 */
async function walkTree(root: string): Promise<DiskUsage> {
  const total: DiskUsage = { bytes: 0, inodes: 0 };
  // Only files with more than one name can be met twice: the set stays small in a large tree.
  const linked = new Set<bigint>();
  const count = (st: BigIntStats): void => {
    if (!st.isDirectory() && st.nlink > 1n) {
      if (linked.has(st.ino)) return;
      linked.add(st.ino);
    }
    add(total, ownUsage(st));
  };
  const top = await lstat(root, { bigint: true }).catch(() => undefined);
  if (!top) return total;
  count(top);
  if (!top.isDirectory()) return total;
  const dirs = [root];
  for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
    const names = await readdir(dir).catch((): string[] => []);
    for (let i = 0; i < names.length; i += WALK_BATCH) {
      const paths = names.slice(i, i + WALK_BATCH).map((n) => join(dir!, n));
      const stats = await Promise.all(paths.map((p) => lstat(p, { bigint: true }).catch(() => undefined)));
      stats.forEach((st, k) => {
        if (!st) return; // removed while we looked
        count(st);
        if (st.isDirectory()) dirs.push(paths[k]!);
      });
    }
  }
  return total;
}

function ownUsage(st: BigIntStats): DiskUsage {
  return { bytes: Number(st.blocks) * 512, inodes: 1 };
}

function isEmptyDir(path: string): boolean {
  try {
    return readdirSync(path).length === 0;
  } catch {
    return true; // removed while we looked
  }
}

function lstatQuiet(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch {
    return undefined; // removed while we looked
  }
}

function add(total: DiskUsage, usage: DiskUsage): void {
  total.bytes += usage.bytes;
  total.inodes += usage.inodes;
}
