import { randomBytes } from 'node:crypto';

// Wall clock read once, then advanced by the monotonic clock: nanosecond timestamps that never go
// backwards, which kubelet relies on when it picks the newest attempt of a container.
const wallAtStart = BigInt(Date.now()) * 1_000_000n;
const monoAtStart = process.hrtime.bigint();

export function nowNs(): bigint {
  return wallAtStart + (process.hrtime.bigint() - monoAtStart);
}

/** 64 hex characters, like the ids of every other CRI runtime. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}
