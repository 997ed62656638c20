import { readFile } from 'node:fs/promises';
import { cgroupDir, cgroupHost } from '../oci/cgroup-host.js';

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
 * container's exit and before runc deletes the cgroup; 0 when it cannot be read.
 */
export async function oomKills(cgroupsPath: string): Promise<number> {
  const file = cgroupHost().version === 2 ? `${cgroupDir('', cgroupsPath)}/memory.events` : `${cgroupDir('memory', cgroupsPath)}/memory.oom_control`;
  return oomKillCount(await readFile(file, 'utf8').catch(() => ''));
}
