import { randomBytes } from 'node:crypto';

/**
 * One-shot tokens for streaming requests (kubelet's requestCache): a token is good for one
 * connection within its time to live, and at most `maxInFlight` wait at once.
 */
export class RequestCache<T> {
  private readonly entries = new Map<string, { value: T; expires: number }>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxInFlight = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  insert(value: T): string {
    this.evictExpired();
    if (this.entries.size >= this.maxInFlight) {
      throw new Error(`too many streaming requests in flight (${this.maxInFlight})`);
    }
    let token: string;
    do token = randomBytes(16).toString('base64url');
    while (this.entries.has(token));
    this.entries.set(token, { value, expires: this.now() + this.ttlMs });
    return token;
  }

  /** The request of a token, once: a second use, or a use after expiry, finds nothing. */
  consume(token: string): T | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    return entry.expires > this.now() ? entry.value : undefined;
  }

  get size(): number {
    this.evictExpired();
    return this.entries.size;
  }

  private evictExpired(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) if (entry.expires <= now) this.entries.delete(token);
  }
}
