/**
 * ListContainerStats in wire form. kubelet asks for every container's stats every few seconds;
 * built as objects and encoded by the generated code, a reply at 100 containers made some 300 KB
 * of garbage, most of the daemon's young-generation collections in a relist. Here each
 * container's attributes are kept as bytes per version of its record, and the reply is written
 * straight into one buffer, readings and kept bytes one container after another.
 *
 * Field numbers are those of the CRI proto (api.proto): ContainerStats, CpuUsage, MemoryUsage,
 * FilesystemUsage, UInt64Value, FilesystemIdentifier. Fields are written in number order except
 * the attributes, which follow the readings: protobuf readers take fields in any order.
 */
import type { ProtoWriter } from '../wire/proto-writer.js';

/** One container's readings, as the stats reply carries them. */
export interface ContainerReadings {
  /** When they were taken, ns since the epoch. */
  at: bigint;
  cpuNs: bigint;
  nanoCores: bigint;
  workingSet: bigint;
  memoryUsage: bigint;
  rss: bigint;
  pageFaults: bigint;
  majorPageFaults: bigint;
  diskBytes: bigint;
  diskInodes: bigint;
  mountpoint: string;
}

const CONTAINER_STATS_ATTRIBUTES = 1;
const CONTAINER_STATS_CPU = 2;
const CONTAINER_STATS_MEMORY = 3;
const CONTAINER_STATS_WRITABLE_LAYER = 4;

/**
 * One ContainerStats as `field` of its reply (ListContainerStatsResponse.stats is 1): its
 * readings, then its attributes, the encoded ContainerAttributes kept for its record.
 */
export function containerStatsField(writer: ProtoWriter, field: number, readings: ContainerReadings, attributes: Uint8Array): void {
  const { at } = readings;
  const item = writer.begin();
  const cpu = writer.begin();
  writer.int64(1, at);
  writer.uint64Value(2, readings.cpuNs);
  writer.uint64Value(3, readings.nanoCores);
  writer.end(CONTAINER_STATS_CPU, cpu);
  const memory = writer.begin();
  writer.int64(1, at);
  writer.uint64Value(2, readings.workingSet);
  writer.uint64Value(4, readings.memoryUsage);
  writer.uint64Value(5, readings.rss);
  writer.uint64Value(6, readings.pageFaults);
  writer.uint64Value(7, readings.majorPageFaults);
  writer.end(CONTAINER_STATS_MEMORY, memory);
  const layer = writer.begin();
  writer.int64(1, at);
  const fsId = writer.begin();
  writer.string(1, readings.mountpoint);
  writer.end(2, fsId);
  writer.uint64Value(3, readings.diskBytes);
  writer.uint64Value(4, readings.diskInodes);
  writer.end(CONTAINER_STATS_WRITABLE_LAYER, layer);
  writer.bytes(CONTAINER_STATS_ATTRIBUTES, attributes);
  writer.end(field, item);
}
