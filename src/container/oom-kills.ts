import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cgroupHost } from '../oci/cgroup-host.js';

/**
 * The `oom_kill` count of a memory cgroup's event file (v2 memory.events, v1 memory.oom_control,
 * kernel 4.13 and later); 0 when the file has none.
 */
export function oomKillCount(text: string): number {
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * How many processes the kernel's OOM killer ended in a container's cgroup, read after the
 * container's exit and before runc deletes the cgroup; 0 when it cannot be read. The path is
 * normalized against "/" so that it cannot climb out of the controller's directory.
 */
export async function oomKills(cgroupsPath: string): Promise<number> {
  const host = cgroupHost();
  const cgroup = join('/', cgroupsPath);
  const file = host.version === 2 ? `${host.controllerDir('')}${cgroup}/memory.events` : `${host.controllerDir('memory')}${cgroup}/memory.oom_control`;
  return oomKillCount(await readFile(file, 'utf8').catch(() => ''));
}
