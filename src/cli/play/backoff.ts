/**
 * kubelet's crash-loop back-off: the first restart waits `initialMs` (10 s), each next one twice
 * as long up to `maxMs` (5 min); a container that ran longer than twice the maximum starts over.
 */
export class Backoff {
  private readonly delays = new Map<string, number>();

  constructor(
    readonly initialMs: number,
    readonly maxMs: number,
  ) {}

  /** The delay before restarting `key`, given how long its last run lasted. */
  next(key: string, ranMs: number): number {
    const last = this.delays.get(key);
    const delay = last === undefined || ranMs > 2 * this.maxMs ? this.initialMs : Math.min(last * 2, this.maxMs);
    this.delays.set(key, delay);
    return delay;
  }
}
