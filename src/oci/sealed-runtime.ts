import { logger } from '../log/logger.js';
import { syscalls } from '../process/syscalls.js';

/**
 * The path to start a runtime binary from. runc 1.0/1.1 protect the host's runc binary from a
 * container (CVE-2019-5736) by copying it into a sealed memfd at every `runc init`, that is at
 * every pause, container and exec start: 8.7 MiB written and a second exec of the copy, several
 * milliseconds of CPU each time. A runc already running from a fully sealed memfd skips the
 * copy (runc's own check, which needs no trust in the caller: a sealed memfd cannot be written
 * by anyone). So the daemon makes that copy once, at start-up, and starts runc (itself and
 * through conmon) from /proc/<daemon pid>/fd/<fd>, which only root can open.
 *
 * Anything that fails here leaves the runtime started from its own path, as before.
 */
export function sealedRuntimePath(binary: string, handler: string): string {
  const sys = syscalls();
  if (!sys) return binary;
  try {
    const fd = sys.sealedCopy(binary);
    return `/proc/${process.pid}/fd/${fd}`;
  } catch (err) {
    logger.warn({ err, handler, binary }, 'could not make a sealed copy of the runtime; it copies itself at each container start');
    return binary;
  }
}
