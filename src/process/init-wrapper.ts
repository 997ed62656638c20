import { fileURLToPath } from 'node:url';
import { syscalls, syscallsError } from './syscalls.js';
import { daemonNodeFlags } from './node-flags.js';

/**
 * `cricket serve` runs under native/cricket-init, a child subreaper: pause (left by `runc run
 * --detach`), conmon (which double-forks) and a container that lost its conmon are re-parented
 * to it rather than to the host's init, and reaped at once. Node cannot be a reaper itself: libuv
 * waits only for the children it spawned, and a waitpid(-1) would steal their statuses.
 *
 * The switch happens in place with execve(2), before the daemon loads: the pid whoever started
 * `cricket serve` knows becomes cricket-init, which forwards its signals to the daemon, exits with
 * the daemon's status, and takes the daemon with it if it is SIGKILLed.
 */
const MARK = 'CRICKET_INIT';
const BUILT = new URL('../../../build/native/', import.meta.url);

export interface InitWrapperState {
  /** Pid of cricket-init when the daemon runs under it. */
  initPid?: number;
  /** Why the daemon runs without it. */
  reason?: string;
}

/**
 * Becomes cricket-init running this same command as its child; in that child, returns the
 * wrapper's pid. Returns too, with the reason, when that cannot be done. The answer is handed to
 * the daemon rather than kept here: bin/cricket loads this module on its own, before the
 * daemon's code, which carries a copy of it.
 */
export function runUnderInit(script: string): InitWrapperState {
  // The mark names the wrapper's pid, so an inherited stale mark is not mistaken for a wrapper.
  const mark = process.env[MARK];
  delete process.env[MARK];
  if (mark !== undefined && mark === String(process.ppid)) return { initPid: process.ppid };
  const init = fileURLToPath(new URL('cricket-init', BUILT));
  const addon = syscalls();
  if (!addon) return { reason: syscallsError() };
  try {
    const env = Object.entries({ ...process.env, [MARK]: String(process.pid) }).map(([k, v]) => `${k}=${v ?? ''}`);
    const nodeFlags = daemonNodeFlags(process.execArgv, process.env.NODE_OPTIONS);
    return addon.execve(init, [init, process.execPath, ...nodeFlags, script, ...process.argv.slice(2)], env);
  } catch (err) {
    return { reason: err instanceof Error ? err.message : String(err) };
  }
}

/** What a daemon started other than through bin/cricket serve is told. */
export const NOT_UNDER_INIT: InitWrapperState = { reason: 'not started through bin/cricket serve' };
