import { readdirSync, readFileSync } from 'node:fs';

/** Pids of the node's processes whose argument list (argv[0] first) `match` accepts. */
export function processesWhere(match: (argv: string[]) => boolean): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (match(readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0'))) found.push(Number(entry));
    } catch {
      // Ended while being looked at.
    }
  }
  return found;
}

/** Pids of the conmon processes whose command line names this container id. */
export function conmonsOf(id: string): number[] {
  return processesWhere((argv) => argv[0]!.endsWith('conmon') && argv.includes(id));
}
