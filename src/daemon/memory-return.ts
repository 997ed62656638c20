/**
 * Gives memory back once a wave of pod removals has passed. V8 keeps the heap and its young
 * generation at the size the busiest moment needed, and glibc keeps freed C-heap pages (HTTP/2
 * buffers, addon jobs): a daemon that ran 100 pods and removed them would go on holding what
 * they needed. When no container or pod has been deleted for a moment, one full collection and a
 * malloc_trim hand it back.
 *
 * Bounded cost: at most one compaction per interval however fast pods come and go (a full
 * collection of this daemon's heap takes tens of milliseconds).
 */
import { logger, stopwatch } from '../log/logger.js';
import type { EventBus } from '../store/events.js';

export interface MemoryReturnOptions {
  /** Time without a deletion before compacting. */
  quietMs: number;
  /** Least time between two compactions. */
  minIntervalMs: number;
  /** A full garbage collection (Node's gc with --expose-gc); none: the heap is left to V8. */
  collect?: () => void;
  /** malloc_trim; none: the C heap is left to glibc. */
  trim?: () => boolean;
}

export const DEFAULT_MEMORY_RETURN = { quietMs: 1000, minIntervalMs: 10_000 } as const;

export class MemoryReturn {
  private timer: NodeJS.Timeout | undefined;
  private lastRun = -Infinity;
  private unsubscribe: (() => void) | undefined;
  /** Compactions done (tests read it). */
  runs = 0;

  constructor(private readonly opts: MemoryReturnOptions) {}

  /** Watches `events` for deletions. */
  start(events: EventBus): void {
    if (!this.opts.collect && !this.opts.trim) return;
    this.unsubscribe = events.subscribe((event) => {
      if (event.type === 'deleted') this.schedule();
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A deletion happened: compact once none has come for quietMs (and the interval allows). */
  schedule(): void {
    clearTimeout(this.timer);
    const wait = Math.max(this.opts.quietMs, this.lastRun + this.opts.minIntervalMs - Date.now());
    this.timer = setTimeout(() => this.run(), wait);
    // A pending compaction never keeps the daemon alive.
    this.timer.unref();
  }

  private run(): void {
    this.timer = undefined;
    this.lastRun = Date.now();
    const before = process.memoryUsage.rss();
    const elapsed = stopwatch();
    try {
      this.opts.collect?.();
      this.opts.trim?.();
    } catch (err) {
      logger.warn({ err }, 'returning memory after pod removals failed');
      return;
    }
    this.runs++;
    logger.debug({ ms: elapsed(), rssBeforeMiB: Math.round(before / 1048576), rssAfterMiB: Math.round(process.memoryUsage.rss() / 1048576) }, 'memory returned after pod removals');
  }
}

/** Node's gc when the daemon was started with --expose-gc (bin/cricket serve does so). */
export function exposedGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as () => void) : undefined;
}
