/**
 * A connection's open streams by id. Kept as a list searched from the newest end: the CRI's
 * client has a few calls open at once and most frames are for the newest, and unlike a Map,
 * opening and closing a stream per call leaves no garbage (a Map that empties reallocates its
 * table). A client holding its full allowance of streams open pays for its own lookups.
 */
import type { ServerStream } from './stream.js';

export class StreamTable {
  private readonly ids: number[] = [];
  private readonly streams: ServerStream[] = [];

  get size(): number {
    return this.ids.length;
  }

  get(id: number): ServerStream | undefined {
    const ids = this.ids;
    for (let i = ids.length - 1; i >= 0; i--) if (ids[i] === id) return this.streams[i];
    return undefined;
  }

  add(stream: ServerStream): void {
    this.ids.push(stream.id);
    this.streams.push(stream);
  }

  delete(id: number): void {
    const ids = this.ids;
    for (let i = ids.length - 1; i >= 0; i--) {
      if (ids[i] !== id) continue;
      // Order does not matter: the last entry takes the freed place.
      const last = ids.length - 1;
      ids[i] = ids[last]!;
      this.streams[i] = this.streams[last]!;
      ids.pop();
      this.streams.pop();
      return;
    }
  }

  /** The open streams as they are now: changing the table after does not change this list. */
  snapshot(): ServerStream[] {
    return this.streams.slice();
  }

  clear(): void {
    this.ids.length = 0;
    this.streams.length = 0;
  }
}
