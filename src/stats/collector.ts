import { setImmediate as nextTurn } from 'node:timers/promises';
import { notFound } from '../errors.js';
import {
  ContainerAttributes,
  type ContainerStats,
  type ContainerStatsFilter,
  type CpuUsage,
  type MemoryUsage,
  type PodSandboxStats,
  type PodSandboxStatsFilter,
} from '../gen/runtime/v1/api.js';
import type { RuntimeContext } from '../runtime-context.js';
import { containerCgroupsPath, sandboxCgroupsPath } from '../pod/cgroups.js';
import { matchesLabels } from '../pod/labels.js';
import { nowNs } from '../store/clock.js';
import { PerRecord } from '../store/per-record.js';
import type { ContainerRecord, SandboxRecord } from '../store/types.js';
import { ProtoWriter } from '../wire/proto-writer.js';
import { cgroupFiles, cgroupUsage, type CgroupFiles, type CgroupUsage } from './cgroup-usage.js';
import { CpuReadings } from './cpu-readings.js';
import { cachedDiskUsage, diskUsage, type DiskUsage } from './disk-usage.js';
import { networkCounters } from './network-usage.js';
import { containerStatsField, type ContainerReadings } from './stats-wire.js';

const u64 = (value: bigint) => ({ value });
/** ListContainerStatsResponse.stats. */
const LIST_CONTAINER_STATS_STATS = 1;
/** About what one container's stats take on the wire, to size a reply's buffer once. */
const WIRE_BYTES_PER_CONTAINER = 512;

type ContainerFiles = { cgroup: CgroupFiles; writableLayer: string };

function containerAttributes(record: ContainerRecord): ContainerAttributes {
  return { id: record.id, metadata: { name: record.name, attempt: record.attempt }, labels: record.labels, annotations: record.annotations };
}
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
  /**
   * A container's ContainerAttributes in wire form, made once per version of its record, in
   * memory of its own: a slice of the encoder's shared pool would keep the pool alive with it.
   */
  private readonly attributes = new PerRecord((record: ContainerRecord) => new Uint8Array(ContainerAttributes.encode(containerAttributes(record)).finish()));

  constructor(private readonly ctx: RuntimeContext) {}

  private cpu(key: string, at: bigint, usage: CgroupUsage | undefined): CpuUsage {
    if (!usage) return { timestamp: at, usageCoreNanoSeconds: u64(0n), usageNanoCores: u64(0n), psi: undefined };
    return { timestamp: at, usageCoreNanoSeconds: u64(usage.cpuNs), usageNanoCores: u64(this.nanoCores(key, at, usage)), psi: undefined };
  }

  /** The CPU rate since the cgroup's previous reading (none before the second), in ns per second. */
  private nanoCores(key: string, at: bigint, usage: CgroupUsage | undefined): bigint {
    if (!usage) return 0n;
    const previous = this.lastCpu.record(key, { at, cpuNs: usage.cpuNs });
    if (!previous || at <= previous.at || usage.cpuNs < previous.cpuNs) return 0n;
    return ((usage.cpuNs - previous.cpuNs) * 1_000_000_000n) / (at - previous.at);
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

  /** A container's readings now, its writable layer's use given; and the cgroup reading they came from. */
  private readingsOf(record: ContainerRecord, files: ContainerFiles, disk: DiskUsage): { readings: ContainerReadings; usage: CgroupUsage | undefined } {
    const at = nowNs();
    const usage = record.state === 'running' ? cgroupUsage(files.cgroup) : undefined;
    const readings: ContainerReadings = {
      at,
      cpuNs: usage?.cpuNs ?? 0n,
      nanoCores: this.nanoCores(record.id, at, usage),
      workingSet: usage?.workingSet ?? 0n,
      memoryUsage: usage?.memoryUsage ?? 0n,
      rss: usage?.rss ?? 0n,
      pageFaults: usage?.pageFaults ?? 0n,
      majorPageFaults: usage?.majorPageFaults ?? 0n,
      diskBytes: disk.bytes,
      diskInodes: disk.inodes,
      mountpoint: this.ctx.config.root,
    };
    return { readings, usage };
  }

  /** A container's stats and the cgroup reading they came from (a pod's total reuses it). */
  private async readContainer(record: ContainerRecord, sandbox: SandboxRecord): Promise<{ stats: ContainerStats; usage: CgroupUsage | undefined }> {
    const files = this.containerFiles.of(record, sandbox);
    const { readings: r, usage } = this.readingsOf(record, files, await diskUsage(files.writableLayer));
    const stats: ContainerStats = {
      attributes: containerAttributes(record),
      cpu: { timestamp: r.at, usageCoreNanoSeconds: u64(r.cpuNs), usageNanoCores: u64(r.nanoCores), psi: undefined },
      memory: {
        timestamp: r.at,
        workingSetBytes: u64(r.workingSet),
        availableBytes: undefined,
        usageBytes: u64(r.memoryUsage),
        rssBytes: u64(r.rss),
        pageFaults: u64(r.pageFaults),
        majorPageFaults: u64(r.majorPageFaults),
        psi: undefined,
      },
      writableLayer: { timestamp: r.at, fsId: { mountpoint: r.mountpoint }, usedBytes: u64(r.diskBytes), inodesUsed: u64(r.diskInodes) },
      swap: undefined,
      io: undefined,
    };
    return { stats, usage };
  }

  /**
   * ListContainerStatsResponse in wire form (stats-wire.ts), written into one buffer of its own.
   * Writable layers not measured in the last ten seconds are walked first.
   */
  async listContainerStatsWire(filter: ContainerStatsFilter | undefined): Promise<Uint8Array> {
    const selected = this.selectContainers(filter);
    const layerOf = (record: ContainerRecord): string => this.containerFiles.of(record, this.ctx.sandboxes.get(record.sandboxId)!).writableLayer;
    const unmeasured = selected.filter((record) => !cachedDiskUsage(layerOf(record)));
    if (unmeasured.length > 0) await inSlices(unmeasured, (record) => diskUsage(layerOf(record)));
    // A writer per call: calls at once interleave at the turns between slices.
    const writer = new ProtoWriter(selected.length * WIRE_BYTES_PER_CONTAINER);
    for (let i = 0; i < selected.length; i++) {
      if (i > 0 && i % STATS_SLICE === 0) await nextTurn();
      const record = selected[i]!;
      const sandbox = this.ctx.sandboxes.get(record.sandboxId);
      if (!sandbox) continue; // removed while an earlier slice waited
      const files = this.containerFiles.of(record, sandbox);
      const disk = cachedDiskUsage(files.writableLayer) ?? (await diskUsage(files.writableLayer));
      containerStatsField(writer, LIST_CONTAINER_STATS_STATS, this.readingsOf(record, files, disk).readings, this.attributes.of(record));
    }
    return writer.finish();
  }

  async containerStats(containerId: string): Promise<ContainerStats> {
    const record = this.ctx.containers.find(containerId);
    const sandbox = record && this.ctx.sandboxes.get(record.sandboxId);
    if (!record || !sandbox) throw notFound(`container ${containerId} not found`);
    return this.forRecord(record, sandbox);
  }

  async listContainerStats(filter: ContainerStatsFilter | undefined): Promise<ContainerStats[]> {
    return inSlices(this.selectContainers(filter), (record) => this.forRecord(record, this.ctx.sandboxes.get(record.sandboxId)!));
  }

  /** The containers `filter` selects that still have their pod. */
  private selectContainers(filter: ContainerStatsFilter | undefined): ContainerRecord[] {
    const selected: ContainerRecord[] = [];
    for (const record of this.ctx.containers.all()) {
      if (!this.ctx.sandboxes.get(record.sandboxId)) continue;
      if (filter?.id && !record.id.startsWith(filter.id)) continue;
      if (filter?.podSandboxId && !record.sandboxId.startsWith(filter.podSandboxId)) continue;
      if (filter && !matchesLabels(record.labels, filter.labelSelector)) continue;
      selected.push(record);
    }
    return selected;
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
