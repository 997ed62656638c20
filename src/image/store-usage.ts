import { existsSync, lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';

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
 * of the whole store on each call would stat every blob and every file of every layer's directory
 * tree; here the store's own directories (its root, `blobs/` and below, `layers/`) are listed again
 * only when their times change, and what is named by a digest (a blob, a complete layer) is
 * measured once. Work in progress (temporary names, `tmp/`, layers being unpacked) is walked on
 * every call.
 */
export class StoreUsage {
  private readonly listings = new Map<string, Listing>();

  /** `settledMs`: how long a directory must have been left alone for its listing to be kept. */
  constructor(
    private readonly root: string,
    private readonly settledMs = SETTLED_MS,
  ) {}

  measure(): DiskUsage {
    const total: DiskUsage = { bytes: 0, inodes: 0 };
    const visited = new Set<string>();
    this.visitStoreDir(this.root, total, visited);
    // Directories gone from the store take their listings with them.
    for (const dir of this.listings.keys()) if (!visited.has(dir)) this.listings.delete(dir);
    return total;
  }

  /** The store's own directories: root, blobs/ and its subdirectories, layers/. */
  private isStoreDir(parent: string, name: string): boolean {
    if (parent === this.root) return name === 'blobs' || name === 'layers';
    return parent === join(this.root, 'blobs');
  }

  private visitStoreDir(path: string, total: DiskUsage, visited: Set<string>): void {
    const st = lstatQuiet(path);
    if (!st?.isDirectory()) return;
    visited.add(path);
    add(total, { bytes: Number(st.blocks) * 512, inodes: 1 });
    const listing = this.listing(path, st);
    for (const name of listing.names) {
      const known = listing.named.get(name);
      if (known) {
        add(total, known);
        continue;
      }
      const child = join(path, name);
      if (this.isStoreDir(path, name)) {
        this.visitStoreDir(child, total, visited);
        continue;
      }
      const usage = walk(child);
      add(total, usage);
      // A digest-named file is a whole blob (written aside, then renamed); a digest-named
      // directory is a whole layer once its layer.json is there (unpacked aside, then renamed).
      if (CONTENT_NAME.test(name) && (lstatQuiet(child)?.isFile() || existsSync(join(child, 'layer.json')))) listing.named.set(name, usage);
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

/** Every inode under `path` (itself included) once, hard links counted once. */
function walk(path: string): DiskUsage {
  const total: DiskUsage = { bytes: 0, inodes: 0 };
  const seen = new Set<bigint>();
  const visit = (p: string): void => {
    const st = lstatQuiet(p);
    if (!st) return;
    if (!seen.has(st.ino)) {
      seen.add(st.ino);
      total.inodes++;
      total.bytes += Number(st.blocks) * 512;
    }
    if (!st.isDirectory()) return;
    let names: string[] = [];
    try {
      names = readdirSync(p);
    } catch {
      return;
    }
    for (const n of names) visit(join(p, n));
  };
  visit(path);
  return total;
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
