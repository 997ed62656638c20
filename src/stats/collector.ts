import { setImmediate as nextTurn } from 'node:timers/promises';
import { notFound } from '../errors.js';
import type {
  ContainerStats,
  ContainerStatsFilter,
  CpuUsage,
  MemoryUsage,
  PodSandboxStats,
  PodSandboxStatsFilter,
} from '../gen/runtime/v1/api.js';
import type { RuntimeContext } from '../runtime-context.js';
import { containerCgroupsPath, sandboxCgroupsPath } from '../pod/cgroups.js';
import { matchesLabels } from '../pod/labels.js';
import { nowNs } from '../store/clock.js';
import { PerRecord } from '../store/per-record.js';
import type { ContainerRecord, SandboxRecord } from '../store/types.js';
import { cgroupFiles, cgroupUsage, type CgroupUsage } from './cgroup-usage.js';
import { CpuReadings } from './cpu-readings.js';
import { diskUsage } from './disk-usage.js';
import { networkCounters } from './network-usage.js';

const u64 = (value: bigint) => ({ value });
/** Containers whose cgroups are read in one turn of the event loop. */
const STATS_SLICE = 32;

/**
 * cgroup files are read on the event loop (cgroup-usage.ts): a slice of containers or pods at a
 * time, so that other calls are answered between slices on a node with many of them.
 */
async function inSlices<T, R>(items: readonly T[], read: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += STATS_SLICE) {
    if (i > 0) await nextTurn();
    out.push(...(await Promise.all(items.slice(i, i + STATS_SLICE).map(read))));
  }
  return out;
}

/**
 * Container and pod statistics for kubelet, read from cgroups on request. CPU rate
 * (usage_nano_cores) needs two readings: the previous one of each cgroup is kept.
 */
export class StatsCollector {
  private readonly lastCpu = new CpuReadings();
  /** The paths a record's stats are read from, named once per version of the record. */
  private readonly containerFiles = new PerRecord((record: ContainerRecord, sandbox: SandboxRecord) => ({
    cgroup: cgroupFiles(containerCgroupsPath(sandbox, record.id)),
    writableLayer: `${this.ctx.paths.containerRw(record.id)}/upper`,
  }));
  private readonly sandboxFiles = new PerRecord((sandbox: SandboxRecord) => cgroupFiles(sandboxCgroupsPath(sandbox)));

  constructor(private readonly ctx: RuntimeContext) {}

  private cpu(key: string, at: bigint, usage: CgroupUsage | undefined): CpuUsage {
    if (!usage) return { timestamp: at, usageCoreNanoSeconds: u64(0n), usageNanoCores: u64(0n), psi: undefined };
    const previous = this.lastCpu.record(key, { at, cpuNs: usage.cpuNs });
    let nanoCores = 0n;
    if (previous && at > previous.at && usage.cpuNs >= previous.cpuNs) {
      nanoCores = ((usage.cpuNs - previous.cpuNs) * 1_000_000_000n) / (at - previous.at);
    }
    return { timestamp: at, usageCoreNanoSeconds: u64(usage.cpuNs), usageNanoCores: u64(nanoCores), psi: undefined };
  }

  private memory(at: bigint, usage: CgroupUsage | undefined): MemoryUsage {
    return {
      timestamp: at,
      workingSetBytes: u64(usage?.workingSet ?? 0n),
      availableBytes: undefined,
      usageBytes: u64(usage?.memoryUsage ?? 0n),
      rssBytes: u64(usage?.rss ?? 0n),
      pageFaults: u64(usage?.pageFaults ?? 0n),
      majorPageFaults: u64(usage?.majorPageFaults ?? 0n),
      psi: undefined,
    };
  }

  private async forRecord(record: ContainerRecord, sandbox: SandboxRecord): Promise<ContainerStats> {
    return (await this.readContainer(record, sandbox)).stats;
  }

  /** A container's stats and the cgroup reading they came from (a pod's total reuses it). */
  private async readContainer(record: ContainerRecord, sandbox: SandboxRecord): Promise<{ stats: ContainerStats; usage: CgroupUsage | undefined }> {
    const at = nowNs();
    const files = this.containerFiles.of(record, sandbox);
    const usage = record.state === 'running' ? cgroupUsage(files.cgroup) : undefined;
    const disk = await diskUsage(files.writableLayer);
    const stats: ContainerStats = {
      attributes: { id: record.id, metadata: { name: record.name, attempt: record.attempt }, labels: record.labels, annotations: record.annotations },
      cpu: this.cpu(record.id, at, usage),
      memory: this.memory(at, usage),
      writableLayer: { timestamp: at, fsId: { mountpoint: this.ctx.config.root }, usedBytes: u64(disk.bytes), inodesUsed: u64(disk.inodes) },
      swap: undefined,
      io: undefined,
    };
    return { stats, usage };
  }

  async containerStats(containerId: string): Promise<ContainerStats> {
    const record = this.ctx.containers.find(containerId);
    const sandbox = record && this.ctx.sandboxes.get(record.sandboxId);
    if (!record || !sandbox) throw notFound(`container ${containerId} not found`);
    return this.forRecord(record, sandbox);
  }

  async listContainerStats(filter: ContainerStatsFilter | undefined): Promise<ContainerStats[]> {
    const selected: [ContainerRecord, SandboxRecord][] = [];
    for (const record of this.ctx.containers.all()) {
      const sandbox = this.ctx.sandboxes.get(record.sandboxId);
      if (!sandbox) continue;
      if (filter?.id && !record.id.startsWith(filter.id)) continue;
      if (filter?.podSandboxId && !record.sandboxId.startsWith(filter.podSandboxId)) continue;
      if (filter && !matchesLabels(record.labels, filter.labelSelector)) continue;
      selected.push([record, sandbox]);
    }
    return inSlices(selected, ([r, s]) => this.forRecord(r, s));
  }

  private async forSandbox(sandbox: SandboxRecord): Promise<PodSandboxStats> {
    const at = nowNs();
    const containers = [...this.ctx.containers.all()].filter((c) => c.sandboxId === sandbox.id);
    const pause = cgroupUsage(this.sandboxFiles.of(sandbox));
    const readings = await Promise.all(containers.map((c) => this.readContainer(c, sandbox)));
    const containerStats = readings.map((r) => r.stats);
    // The pod's usage is the sum of the pause process and the containers: a cgroup parent need
    // not be the pod's own (pods started by hand share one).
    const present = [pause, ...readings.map((r) => r.usage)].filter((p): p is CgroupUsage => p !== undefined);
    const usage = present.length
      ? present.reduce((a, b) => ({
          cpuNs: a.cpuNs + b.cpuNs,
          memoryUsage: a.memoryUsage + b.memoryUsage,
          workingSet: a.workingSet + b.workingSet,
          rss: a.rss + b.rss,
          pageFaults: a.pageFaults + b.pageFaults,
          majorPageFaults: a.majorPageFaults + b.majorPageFaults,
          processes: a.processes + b.processes,
        }))
      : undefined;
    const interfaces = sandbox.pausePid ? await networkCounters(sandbox.pausePid) : [];
    const toCri = (i: (typeof interfaces)[number]) => ({ name: i.name, rxBytes: u64(i.rxBytes), rxErrors: u64(i.rxErrors), txBytes: u64(i.txBytes), txErrors: u64(i.txErrors) });
    const eth0 = interfaces.find((i) => i.name === 'eth0') ?? interfaces[0];
    return {
      attributes: {
        id: sandbox.id,
        metadata: { name: sandbox.name, uid: sandbox.uid, namespace: sandbox.namespace, attempt: sandbox.attempt },
        labels: sandbox.labels,
        annotations: sandbox.annotations,
      },
      linux: {
        cpu: this.cpu(`pod:${sandbox.id}`, at, usage),
        memory: this.memory(at, usage),
        network: { timestamp: at, defaultInterface: eth0 ? toCri(eth0) : undefined, interfaces: interfaces.map(toCri) },
        process: { timestamp: at, processCount: u64(BigInt(usage?.processes ?? 0)) },
        containers: containerStats,
        io: undefined,
      },
      windows: undefined,
    };
  }

  async podSandboxStats(sandboxId: string): Promise<PodSandboxStats> {
    const sandbox = this.ctx.sandboxes.find(sandboxId);
    if (!sandbox) throw notFound(`pod sandbox ${sandboxId} not found`);
    return this.forSandbox(sandbox);
  }

  async listPodSandboxStats(filter: PodSandboxStatsFilter | undefined): Promise<PodSandboxStats[]> {
    const selected = [...this.ctx.sandboxes.all()].filter(
      (s) => (!filter?.id || s.id.startsWith(filter.id)) && (!filter || matchesLabels(s.labels, filter.labelSelector)),
    );
    return inSlices(selected, (s) => this.forSandbox(s));
  }
}
