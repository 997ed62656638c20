import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { findProgram } from '../../src/process/find-program.js';
import { nativeTool } from '../../src/process/native-tools.js';

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

/** Whether a command line is a container monitor's: cricket's own, or conmon. */
export function isMonitorCommand(argv: string[]): boolean {
  return argv[0]!.endsWith('/cricket-monitor') || argv[0]!.endsWith('conmon');
}

/** Pids of the monitor processes (cricket-monitor or conmon) whose command line names this container id. */
export function conmonsOf(id: string): number[] {
  return processesWhere((argv) => isMonitorCommand(argv) && argv.includes(id));
}

/** The two monitors cricket can run containers under: tests of the monitor run against both. */
export function monitorPrograms(): Array<{ name: string; program: string }> {
  return [
    { name: 'cricket-monitor', program: nativeTool('cricket-monitor') },
    { name: 'conmon', program: findProgram('conmon') },
  ];
}

/** Runs a command as nobody (uid and gid 65534, no supplementary groups), as another user of the node would. */
export function asNobody(cmd: string[], timeoutMs = 10_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--', ...cmd], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
