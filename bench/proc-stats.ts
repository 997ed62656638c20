// CPU and memory of processes from /proc, for the benchmarks.
import { readdirSync, readFileSync } from 'node:fs';

const TICK = 100; // USER_HZ on Linux

/** Fields of /proc/PID/stat after the command (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime+stime, and with `children` cutime+cstime (children waited for), in seconds. */
export function cpuSeconds(pid: number, children = true): number {
  const f = statFields(pid);
  if (!f) return 0;
  // After the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14) ... starttime(19)
  const own = Number(f[11]) + Number(f[12]);
  return (children ? own + Number(f[13]) + Number(f[14]) : own) / TICK;
}

/** The machine's CPU time so far, in ticks: all of it, and the part not spent idle or waiting for I/O. */
export function machineTicks(): { total: number; busy: number } {
  // cpu  user nice system idle iowait irq softirq steal
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { total, busy: total - fields[3]! - fields[4]! };
}

/** The share of the machine's CPU time that was busy between two readings of machineTicks. */
export function busyShare(from: { total: number; busy: number }, to: { total: number; busy: number }): number {
  return to.total > from.total ? (to.busy - from.busy) / (to.total - from.total) : 0;
}

export function rssMiB(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Number(line?.match(/(\d+)/)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/**
 * The per-pod helper processes of one runtime (conmon, containerd-shim): those whose name matches
 * and whose command line names the runtime's own directory or socket. While started, a poll keeps
 * the last CPU seen of each, including the children it waited for (runc); helpers that existed
 * before start() count only from then.
 */
export class HelperWatch {
  private seen = new Map<string, { base: number; last: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly comm: RegExp, private readonly mark: string) {}

  private *helpers(): Generator<{ pid: number; key: string }> {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      try {
        if (!this.comm.test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim())) continue;
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.mark)) continue;
        yield { pid, key: `${pid}@${statFields(pid)?.[19]}` };
      } catch {
        // gone meanwhile
      }
    }
  }

  private poll(first: boolean): void {
    for (const { pid, key } of this.helpers()) {
      const cpu = cpuSeconds(pid);
      const entry = this.seen.get(key);
      if (entry) entry.last = Math.max(entry.last, cpu);
      else this.seen.set(key, { base: first ? cpu : 0, last: cpu });
    }
  }

  start(): void {
    this.seen.clear();
    this.poll(true);
    this.timer = setInterval(() => this.poll(false), 50);
  }

  /** Stops polling; the helpers' CPU seconds since start(). */
  stop(): number {
    clearInterval(this.timer);
    this.poll(false);
    let sum = 0;
    for (const { base, last } of this.seen.values()) sum += last - base;
    return sum;
  }

  rss(): { total: number; count: number } {
    let total = 0;
    let count = 0;
    for (const { pid } of this.helpers()) {
      total += rssMiB(pid);
      count++;
    }
    return { total, count };
  }
}
