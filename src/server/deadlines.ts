/**
 * The deadlines of the calls in progress, under one timer. A call that ends in time costs two
 * array writes, not a timer of its own: kubelet gives every call a deadline and most calls are
 * answered within a millisecond.
 */
import { logger } from '../log/logger.js';

export interface Expiring {
  /** Epoch milliseconds after which `expire` is due. */
  readonly deadline: number;
  /** Where the item sits in its Deadlines, or -1. Owned by Deadlines. */
  deadlineSlot: number;
  expire(): void;
}

export class Deadlines<T extends Expiring> {
  private readonly slots: Array<T | null> = [];
  private readonly free: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;

  constructor(private readonly now: () => number = Date.now) {}

  /** Items waiting. */
  get size(): number {
    return this.slots.length - this.free.length;
  }

  /** Slots held: the most items that ever waited at once. */
  get capacity(): number {
    return this.slots.length;
  }

  add(item: T): void {
    if (item.deadlineSlot >= 0) return;
    const slot = this.free.pop() ?? this.slots.length;
    this.slots[slot] = item;
    item.deadlineSlot = slot;
    if (item.deadline < this.timerAt) this.arm(item.deadline);
  }

  /** The item no longer waits. Its timer, if it was the earliest, fires once for nothing. */
  remove(item: T): void {
    const slot = item.deadlineSlot;
    if (slot < 0 || this.slots[slot] !== item) return;
    this.slots[slot] = null;
    this.free.push(slot);
    item.deadlineSlot = -1;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    // Timers above 2^31-1 ms fire at once; a farther deadline is checked again then.
    const wait = Math.min(Math.max(0, at - this.now()), 0x7fffffff);
    this.timer = setTimeout(() => this.fire(), wait);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.now();
    const due: T[] = [];
    let next = Infinity;
    for (const item of this.slots) {
      if (!item) continue;
      if (item.deadline <= now) due.push(item);
      else if (item.deadline < next) next = item.deadline;
    }
    for (const item of due) this.remove(item);
    if (next < Infinity) this.arm(next);
    // Expired last: an item's expiry may add or remove others.
    for (const item of due) {
      try {
        item.expire();
      } catch (err) {
        logger.error({ err }, 'a call\'s deadline could not be acted on');
      }
    }
  }
}
