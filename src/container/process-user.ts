import type { ContainerUser } from '../gen/runtime/v1/api.js';
import { checkProcess, readProcFile } from '../process/identity.js';
import { parseProcStatusIds } from '../process/proc-status-ids.js';
import type { ContainerRecord } from '../store/types.js';

/**
 * ContainerStatus.user: the uid, gid and groups the container's process really has, read from
 * the kernel rather than from the spec (an image's /etc/group or the runtime may add groups).
 * The pid is checked against its recorded start before and after the read, so a pid handed to
 * another process in between is never reported. Undefined once the process is gone.
 */
/**
 * Readings of running processes, keyed by their recorded start: the ids a process runs with are
 * set before it runs, and kubelet asks for every container's status on each relist, so each
 * process is read once rather than three /proc reads per call. A new process has a new start
 * record, and an entry goes with the record that holds its key.
 */
const readings = new WeakMap<object, ContainerUser>();

/**
 * The answer when it needs no /proc read: undefined when there is no process to report, the
 * earlier reading of a running process; null when the process must be read.
 */
export function knownProcessUser(record: Readonly<ContainerRecord> | undefined): ContainerUser | undefined | null {
  if (!record || (record.state !== 'running' && record.state !== 'created') || !record.pid) return undefined;
  const key = record.state === 'running' ? record.pidStart : undefined;
  return (key && readings.get(key)) || null;
}

export async function containerProcessUser(record: Readonly<ContainerRecord> | undefined): Promise<ContainerUser | undefined> {
  const known = knownProcessUser(record);
  if (known !== null) return known;
  if (!record) return undefined;
  const key = record.state === 'running' ? record.pidStart : undefined;
  if ((await checkProcess(record.pid, record.pidStart)) !== 'running') return undefined;
  const text = readProcFile(`/proc/${record.pid}/status`);
  const ids = parseProcStatusIds(text);
  if (!ids || (await checkProcess(record.pid, record.pidStart)) !== 'running') return undefined;
  const user = { linux: { uid: BigInt(ids.uid), gid: BigInt(ids.gid), supplementalGroups: ids.groups.map(BigInt) } };
  if (key) readings.set(key, user);
  return user;
}
