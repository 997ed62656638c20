import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cgroupHost } from '../oci/cgroup-host.js';

export interface CgroupUsage {
  /** Total CPU time in nanoseconds. */
  cpuNs: bigint;
  memoryUsage: bigint;
  workingSet: bigint;
  rss: bigint;
  pageFaults: bigint;
  majorPageFaults: bigint;
  processes: number;
}

const readText = (path: string): Promise<string> => readFile(path, 'utf8').catch(() => '');

function statFile(text: string): Map<string, bigint> {
  const values = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const [key, value] = line.split(' ');
    if (key && value && /^\d+$/.test(value)) values.set(key, BigInt(value));
  }
  return values;
}

const big = (text: string): bigint => (/^\d+/.test(text.trim()) ? BigInt(text.trim().split(/\s/)[0]!) : 0n);

/**
 * CPU and memory of one cgroup (a container, or a pod's parent), from cgroup v1 or v2 files.
 * Working set is usage minus inactive file pages, as kubelet computes it for eviction.
 * Undefined when the cgroup does not exist (a container not started or already gone).
 */
export async function cgroupUsage(cgroupsPath: string): Promise<CgroupUsage | undefined> {
  const host = cgroupHost();
  if (host.version === 2) {
    const dir = join(host.controllerDir(''), cgroupsPath);
    const [cpuStat, current, memStat, procs] = await Promise.all([
      readText(join(dir, 'cpu.stat')), readText(join(dir, 'memory.current')), readText(join(dir, 'memory.stat')), readText(join(dir, 'cgroup.procs')),
    ]);
    if (!cpuStat && !current) return undefined;
    const cpu = statFile(cpuStat);
    const mem = statFile(memStat);
    const usage = big(current);
    const inactive = mem.get('inactive_file') ?? 0n;
    return {
      cpuNs: (cpu.get('usage_usec') ?? 0n) * 1000n,
      memoryUsage: usage,
      workingSet: usage > inactive ? usage - inactive : 0n,
      rss: mem.get('anon') ?? 0n,
      pageFaults: mem.get('pgfault') ?? 0n,
      majorPageFaults: mem.get('pgmajfault') ?? 0n,
      processes: procs.split('\n').filter(Boolean).length,
    };
  }
  const [cpuacct, usageText, memStat, procs] = await Promise.all([
    readText(join(host.controllerDir('cpuacct'), cgroupsPath, 'cpuacct.usage')),
    readText(join(host.controllerDir('memory'), cgroupsPath, 'memory.usage_in_bytes')),
    readText(join(host.controllerDir('memory'), cgroupsPath, 'memory.stat')),
    readText(join(host.controllerDir('pids'), cgroupsPath, 'cgroup.procs')),
  ]);
  if (!cpuacct && !usageText) return undefined;
  const mem = statFile(memStat);
  const usage = big(usageText);
  const inactive = mem.get('total_inactive_file') ?? 0n;
  return {
    cpuNs: big(cpuacct),
    memoryUsage: usage,
    workingSet: usage > inactive ? usage - inactive : 0n,
    rss: mem.get('total_rss') ?? 0n,
    pageFaults: mem.get('total_pgfault') ?? 0n,
    majorPageFaults: mem.get('total_pgmajfault') ?? 0n,
    processes: procs.split('\n').filter(Boolean).length,
  };
}
