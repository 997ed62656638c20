import type { ContainerUser } from '../gen/runtime/v1/api.js';
import { checkProcess, readProcFile } from '../process/identity.js';
import { parseProcStatusIds } from '../process/proc-status-ids.js';
import type { ContainerRecord } from '../store/types.js';

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
  const key = readingKey(record);
  return (key && readings.get(key)) || null;
}

/** A created process may still change its ids before it runs: only a running one's reading is kept. */
function readingKey(record: Readonly<ContainerRecord>): object | undefined {
  return record.state === 'running' ? record.pidStart : undefined;
}

/**
 * ContainerStatus.user: the uid, gid and groups the container's process really has, read from
 * the kernel rather than from the spec (an image's /etc/group or the runtime may add groups).
 * The pid is checked against its recorded start before and after the read, so a pid handed to
 * another process in between is never reported. Undefined once the process is gone.
 */
export async function containerProcessUser(record: Readonly<ContainerRecord> | undefined): Promise<ContainerUser | undefined> {
  const known = knownProcessUser(record);
  if (known !== null || !record) return known ?? undefined;
  const key = readingKey(record);
  if ((await checkProcess(record.pid, record.pidStart)) !== 'running') return undefined;
  const text = readProcFile(`/proc/${record.pid}/status`);
  const ids = parseProcStatusIds(text);
  if (!ids || (await checkProcess(record.pid, record.pidStart)) !== 'running') return undefined;
  const user = { linux: { uid: BigInt(ids.uid), gid: BigInt(ids.gid), supplementalGroups: ids.groups.map(BigInt) } };
  if (key) readings.set(key, user);
  return user;
}
