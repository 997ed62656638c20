import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SingleFlight } from '../store/keyed-queue.js';

export interface DiskUsage {
  bytes: bigint;
  inodes: bigint;
}

const CACHE_MS = 10_000;
const cache = new Map<string, { at: number; usage: DiskUsage }>();

/**
 * Bytes and inodes under a directory (a container's writable layer). Walking a tree is costly,
 * and kubelet asks every few seconds: an answer is reused for ten seconds.
 */
export function diskUsage(dir: string): Promise<DiskUsage> {
  const hit = cachedDiskUsage(dir);
  if (hit) return Promise.resolve(hit);
  // kubelet asks for container and pod stats at once: one walk answers both.
  return walking.run(dir, () => walkUsage(dir));
}

/** The answer of a walk less than ten seconds old, if there is one. */
export function cachedDiskUsage(dir: string): DiskUsage | undefined {
  const hit = cache.get(dir);
  return hit && Date.now() - hit.at < CACHE_MS ? hit.usage : undefined;
}

/** Concurrent readers of one directory share one walk. */
const walking = new SingleFlight<DiskUsage>();

async function walkUsage(dir: string): Promise<DiskUsage> {
  const usage: DiskUsage = { bytes: 0n, inodes: 0n };
  const seen = new Set<bigint>();
  const walk = async (path: string): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const child = join(path, entry.name);
      const st = await lstat(child, { bigint: true }).catch(() => undefined);
      if (!st || seen.has(st.ino)) continue;
      seen.add(st.ino);
      usage.inodes += 1n;
      usage.bytes += st.blocks * 512n;
      if (entry.isDirectory()) await walk(child);
    }
  };
  await walk(dir);
  cache.set(dir, { at: Date.now(), usage });
  // Entries of containers long gone would otherwise stay for the daemon's lifetime.
  if (cache.size > 64) for (const [key, entry] of cache) if (Date.now() - entry.at > CACHE_MS) cache.delete(key);
  return usage;
}
