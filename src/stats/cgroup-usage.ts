import { closeSync, constants, openSync, readSync } from 'node:fs';
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

/**
 * cgroup files are small and made by the kernel on read, with no disk behind them: they are read
 * on the event loop into one reused buffer. Going through the thread pool cost four pool trips
 * and a FileHandle per file, about 35 ms for 100 containers, and garbage that showed up as pauses
 * in the calls after a stats call.
 */
const scratch = Buffer.allocUnsafe(64 * 1024);

/** Calls `onChunk` with each piece of the file; false when the file cannot be opened or read. */
function readChunks(path: string, onChunk: (length: number) => void): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    for (;;) {
      const n = readSync(fd, scratch, 0, scratch.length, null);
      if (n === 0) return true;
      onChunk(n);
    }
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** A file's text, or '' when it is missing; only the first 64 KiB (stat files are about 1-2 KiB). */
function readText(path: string): string {
  let text = '';
  readChunks(path, (n) => {
    if (text.length < scratch.length) text += scratch.toString('latin1', 0, n);
  });
  return text;
}

/** Lines in a file (cgroup.procs: one pid a line), however long it is. */
function countLines(path: string): number {
  let lines = 0;
  readChunks(path, (n) => {
    for (let i = 0; i < n; i++) if (scratch[i] === 0x0a) lines++;
  });
  return lines;
}

/**
 * The value of `key` in a flat-keyed stat file ("key value" lines), 0 when it is absent. Only the
 * keys asked for are read: memory.stat has about 40, and splitting every line of it for every
 * container of a stats call was most of that call's garbage.
 */
export function statValue(text: string, key: string): bigint {
  let at = text.startsWith(`${key} `) ? 0 : text.indexOf(`\n${key} `);
  if (at < 0) return 0n;
  if (text.charCodeAt(at) === 0x0a) at++;
  const start = at + key.length + 1;
  let end = start;
  while (end < text.length && text.charCodeAt(end) >= 0x30 && text.charCodeAt(end) <= 0x39) end++;
  return end > start ? BigInt(text.slice(start, end)) : 0n;
}

const big = (text: string): bigint => (/^\d+/.test(text.trim()) ? BigInt(text.trim().split(/\s/)[0]!) : 0n);

/**
 * CPU and memory of one cgroup (a container, or a pod's parent), from cgroup v1 or v2 files.
 * Working set is usage minus inactive file pages, as kubelet computes it for eviction.
 * Undefined when the cgroup does not exist (a container not started or already gone).
 */
export function cgroupUsage(cgroupsPath: string): CgroupUsage | undefined {
  const host = cgroupHost();
  // Normalized once, against "/", so that it cannot climb out of a controller's directory; the
  // files are named from it (a path.join per file was a third of a stats call's garbage).
  const cgroup = join('/', cgroupsPath);
  if (host.version === 2) {
    const dir = `${host.controllerDir('')}${cgroup}`;
    const cpuStat = readText(`${dir}/cpu.stat`);
    const current = readText(`${dir}/memory.current`);
    if (!cpuStat && !current) return undefined;
    const memStat = readText(`${dir}/memory.stat`);
    const usage = big(current);
    const inactive = statValue(memStat, 'inactive_file');
    return {
      cpuNs: statValue(cpuStat, 'usage_usec') * 1000n,
      memoryUsage: usage,
      workingSet: usage > inactive ? usage - inactive : 0n,
      rss: statValue(memStat, 'anon'),
      pageFaults: statValue(memStat, 'pgfault'),
      majorPageFaults: statValue(memStat, 'pgmajfault'),
      processes: countLines(`${dir}/cgroup.procs`),
    };
  }
  const memoryDir = `${host.controllerDir('memory')}${cgroup}`;
  const cpuacct = readText(`${host.controllerDir('cpuacct')}${cgroup}/cpuacct.usage`);
  const usageText = readText(`${memoryDir}/memory.usage_in_bytes`);
  if (!cpuacct && !usageText) return undefined;
  const memStat = readText(`${memoryDir}/memory.stat`);
  const usage = big(usageText);
  const inactive = statValue(memStat, 'total_inactive_file');
  return {
    cpuNs: big(cpuacct),
    memoryUsage: usage,
    workingSet: usage > inactive ? usage - inactive : 0n,
    rss: statValue(memStat, 'total_rss'),
    pageFaults: statValue(memStat, 'total_pgfault'),
    majorPageFaults: statValue(memStat, 'total_pgmajfault'),
    processes: countLines(`${host.controllerDir('pids')}${cgroup}/cgroup.procs`),
  };
}
