/** One cgroup's CPU counter as read at a moment (ns of CPU time, ns of the clock). */
export interface CpuReading {
  at: bigint;
  cpuNs: bigint;
}

/** Readings older than this belong to containers and pods no one asks about any more. */
const STALE_NS = 60_000_000_000n;
/** How often stale readings are looked for, once there are enough to bother. */
const SWEEP_EVERY_NS = 10_000_000_000n;
const SWEEP_ABOVE = 64;

/**
 * The last CPU reading of each container and pod: a CPU rate (usage_nano_cores) needs two. Stale
 * readings are swept now and then, not on every reading: with a sweep per reading, a stats call
 * on a node with more than 64 containers walked the whole map once per container.
 */
export class CpuReadings {
  private readonly last = new Map<string, CpuReading>();
  private lastSweep: bigint | undefined;
  /** Sweeps done (tests read it). */
  sweeps = 0;

  /** Keeps `reading` for `key` and gives back the one it replaces. */
  record(key: string, reading: CpuReading): CpuReading | undefined {
    const previous = this.last.get(key);
    this.last.set(key, reading);
    if (this.last.size > SWEEP_ABOVE && (this.lastSweep === undefined || reading.at - this.lastSweep >= SWEEP_EVERY_NS)) {
      this.lastSweep = reading.at;
      this.sweeps++;
      for (const [k, r] of this.last) if (reading.at - r.at > STALE_NS) this.last.delete(k);
    }
    return previous;
  }

  get size(): number {
    return this.last.size;
  }
}
