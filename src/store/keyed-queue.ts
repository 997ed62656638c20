/**
 * Work keyed by a string (a pod or container id, a lock file, a layer): the two ways cricket
 * lets concurrent callers for one key meet.
 */

/**
 * One at a time per key: calls for one key run in arrival order, calls for different keys never
 * wait for each other. A failed call does not stop the ones queued behind it.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** True while a call for `key` runs or waits. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }
}

/**
 * One for all per key: a call for a key whose work is under way gets that work's result instead
 * of starting it again (two pulls of one image, two walks of one directory).
 */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Promise<T>>();

  run(key: string, fn: () => Promise<T>): Promise<T> {
    let flight = this.flights.get(key);
    if (!flight) {
      flight = fn().finally(() => this.flights.delete(key));
      this.flights.set(key, flight);
    }
    return flight;
  }

  /** Keys whose work is under way. */
  keys(): IterableIterator<string> {
    return this.flights.keys();
  }
}
