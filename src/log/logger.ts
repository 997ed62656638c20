import { pino, type Logger } from 'pino';

/**
 * One JSON line per event on stderr. Callers pass ids (pod, container, image) and durations as
 * fields, never baked into the message, so the lines can be filtered and aggregated.
 */
const destination = pino.destination({ fd: 2, sync: false });
// stderr may be a file on a full disk: losing log lines is better than losing the daemon, and
// there is nowhere left to report it.
destination.on('error', () => undefined);

export const logger: Logger = pino({
  level: process.env.CRICKET_LOG_LEVEL ?? 'info',
  base: { service: 'cricket' },
  timestamp: pino.stdTimeFunctions.isoTime,
}, destination);

export type { Logger };

/** Measures one step; returns milliseconds with 0.1 ms resolution. */
export function stopwatch(): () => number {
  const start = process.hrtime.bigint();
  return () => Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10;
}
