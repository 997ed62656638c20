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

let state: InitWrapperState = { reason: 'not started through bin/cricket serve' };

export function initWrapperState(): InitWrapperState {
  return state;
}

/**
 * Becomes cricket-init running this same command as its child; in that child, notes the wrapper
 * and returns. Returns too (and says why in initWrapperState) when that cannot be done.
 */
export function runUnderInit(script: string): void {
  // The mark names the wrapper's pid, so an inherited stale mark is not mistaken for a wrapper.
  const mark = process.env[MARK];
  delete process.env[MARK];
  if (mark !== undefined && mark === String(process.ppid)) {
    state = { initPid: process.ppid };
    return;
  }
  const init = fileURLToPath(new URL('cricket-init', BUILT));
  const addon = syscalls();
  if (!addon) {
    state = { reason: syscallsError() };
    return;
  }
  try {
    const env = Object.entries({ ...process.env, [MARK]: String(process.pid) }).map(([k, v]) => `${k}=${v ?? ''}`);
    const nodeFlags = daemonNodeFlags(process.execArgv, process.env.NODE_OPTIONS);
    addon.execve(init, [init, process.execPath, ...nodeFlags, script, ...process.argv.slice(2)], env);
  } catch (err) {
    state = { reason: err instanceof Error ? err.message : String(err) };
  }
}
