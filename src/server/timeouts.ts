import { invalidArgument } from '../errors.js';

/**
 * Longest wait a Node timer can hold: setTimeout turns anything above 2^31-1 ms into 1 ms, so a
 * kubelet grace period of years would become no grace at all. A larger request is clamped here:
 * "wait this long" then means "wait as long as cricket can", which keeps its meaning (the
 * container gets every second cricket can give it; 24.8 days is beyond any real grace period).
 */
export const MAX_TIMEOUT_SECONDS = BigInt(Math.floor((2 ** 31 - 1) / 1000));

/** A timeout in seconds from a request: negative is refused, too large is clamped. */
export function clampTimeoutSeconds(value: bigint, path: string): bigint {
  if (value < 0n) throw invalidArgument(`${path} must not be negative (got ${value})`);
  return value > MAX_TIMEOUT_SECONDS ? MAX_TIMEOUT_SECONDS : value;
}
