import { pino, type Logger } from 'pino';

/**
 * Log bytes waiting for stderr, above which new lines are dropped: a reader that has stopped
 * taking them (a paused pager, a stalled journal, a pipe to a stuck program) must not make the
 * daemon's memory grow for as long as it goes on answering. About 15,000 lines.
 */
export const MAX_PENDING_LOG_BYTES = 4 * 1024 * 1024;
const destination = pino.destination({ fd: 2, sync: false, maxLength: MAX_PENDING_LOG_BYTES });
// stderr may be a file on a full disk: losing log lines is better than losing the daemon, and
// there is nowhere left to report it.
destination.on('error', () => undefined);
let dropped = 0;
destination.on('drop', () => {
  dropped++;
});
// Said once everything still waiting has been written, so that the line itself finds room.
destination.on('drain', () => {
  if (dropped === 0) return;
  const count = dropped;
  dropped = 0;
  logger.warn({ dropped: count, maxPendingBytes: MAX_PENDING_LOG_BYTES }, 'log lines dropped while stderr took none');
});

/**
 * One JSON line per event on stderr. Callers pass ids (pod, container, image) and durations as
 * fields, never baked into the message, so the lines can be filtered and aggregated.
 */
export const logger: Logger = pino({
  level: process.env.CRICKET_LOG_LEVEL ?? 'info',
  base: { service: 'cricket' },
  timestamp: pino.stdTimeFunctions.isoTime,
}, destination);

export type { Logger };

/** Measures one step; returns milliseconds with 0.1 ms resolution. */
export function stopwatch(): () => number {
  const started = performance.now();
  return () => msSince(started);
}

/** Milliseconds since `started`, a performance.now() reading, with 0.1 ms resolution; no allocation. */
export function msSince(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
