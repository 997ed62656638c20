import { logger } from '../log/logger.js';

/** Exit status of a daemon that stopped itself after a programming error (EX_SOFTWARE). */
export const EXIT_SOFTWARE = 70;

/**
 * A system error (it has an errno code and names the failed syscall) comes from the world
 * outside: a full disk, a closed socket, a file-descriptor limit. Nothing in the daemon's own
 * memory is wrong after one, so it can go on serving.
 */
function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * Process-wide last resorts of the daemon. Every background task catches its own errors; these
 * only meet what slipped through, and say so in the log with as much context as there is.
 *
 * - A rejected promise nobody handled never ends the daemon: the work it belonged to failed,
 *   and that work's callers already got their answer (or will time out).
 * - An exception thrown out of a callback ends it only when it is a programming error
 *   (TypeError, a failed assertion): the callback stopped half-way, so locks, maps and counters
 *   in memory may be inconsistent, and serving on could answer wrongly for ever. State on disk
 *   is crash-safe and a restarted daemon reconciles it with runc, conmon's exit files and the
 *   pinned namespaces, while pods keep running. A system error (ENOSPC, EPIPE, EMFILE from an
 *   emitter without an error listener) is logged and the daemon serves on.
 */
export function installProcessGuards(exit: (code: number) => void = (code) => process.exit(code)): void {
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason, origin: 'unhandledRejection' }, 'a background task failed without handling its error; the daemon keeps running');
  });
  process.on('uncaughtException', (err, origin) => {
    if (isSystemError(err)) {
      logger.error({ err, origin, code: err.code, syscall: err.syscall, path: err.path }, 'uncaught system error; the daemon keeps running');
      return;
    }
    logger.fatal({ err, origin }, 'uncaught programming error; stopping the daemon (pods keep running, state is recovered at the next start)');
    process.exitCode = EXIT_SOFTWARE;
    // The log line must reach its file before the process goes.
    logger.flush(() => exit(EXIT_SOFTWARE));
    setTimeout(() => exit(EXIT_SOFTWARE), 1000).unref();
  });
}

/** Signals that would end the daemon or open a door into it if left to Node's defaults. */
const STRAY_SIGNALS = ['SIGUSR1', 'SIGUSR2', 'SIGHUP'] as const;

/**
 * An operator's habit from other daemons (a log rotation hook's `kill -USR1`, a `kill -HUP` to
 * reload) must neither stop cricket nor open it up: Node's answer to SIGUSR1 is its debugger on
 * 127.0.0.1:9229, which asks no one for credentials, so any user of the node could run code in
 * the root daemon; SIGUSR2 and SIGHUP would end it. A listener replaces each default; the signal
 * is logged and otherwise ignored (the configuration is read at start only).
 */
export function ignoreStraySignals(): void {
  for (const signal of STRAY_SIGNALS) {
    process.on(signal, () => logger.warn({ signal }, 'signal ignored: cricket has nothing to reload or reopen on it (restart it to apply a new configuration)'));
  }
}
