import { failedPrecondition } from '../errors.js';
import { checkProcess, type ProcessStart } from './identity.js';

/**
 * The pid of a recorded process, checked to still be that process, for joining its namespaces
 * through /proc/<pid>/ns: a reused pid would put a container into a stranger's namespaces.
 * `runcPid` is asked only for records made before start stamps were kept; runc checks its own
 * recorded start time before it reports a pid.
 */
export async function verifiedPid(
  what: string,
  pid: number,
  start: ProcessStart | undefined,
  runcPid: () => Promise<number | undefined>,
): Promise<number> {
  if (start) {
    const state = await checkProcess(pid, start);
    if (state === 'running') return pid;
    throw failedPrecondition(`${what} (pid ${pid}) ${state === 'zombie' ? 'has exited' : 'is gone or its pid now belongs to another process'}`);
  }
  const current = await runcPid().catch(() => undefined);
  if (current && current > 0) return current;
  throw failedPrecondition(`${what} is not running`);
}
