import { isErrno } from '../errors.js';

/** Whether a process exists (EPERM: it does, it is just not ours to signal). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
}
