import { readFile } from 'node:fs/promises';

export interface InterfaceCounters {
  name: string;
  rxBytes: bigint;
  rxErrors: bigint;
  txBytes: bigint;
  txErrors: bigint;
}

/**
 * Interface counters of a network namespace, read through a process inside it: /proc/<pid>/net/dev
 * shows the namespace of that process, so no netns switch (and no fork) is needed.
 */
export async function networkCounters(pid: number): Promise<InterfaceCounters[]> {
  const text = await readFile(`/proc/${pid}/net/dev`, 'utf8').catch(() => '');
  const result: InterfaceCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (!name || rest === undefined) continue;
    const f = rest.trim().split(/\s+/).map((v) => BigInt(v));
    if (f.length < 16 || name.trim() === 'lo') continue;
    result.push({ name: name.trim(), rxBytes: f[0]!, rxErrors: f[2]!, txBytes: f[8]!, txErrors: f[10]! });
  }
  return result;
}
