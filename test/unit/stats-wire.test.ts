// ListContainerStats in wire form (src/stats/stats-wire.ts) against the generated encoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContainerAttributes, ContainerStats, ListContainerStatsResponse } from '../../src/gen/runtime/v1/api.js';
import { containerStatsField, type ContainerReadings } from '../../src/stats/stats-wire.js';
import { ProtoWriter } from '../../src/wire/proto-writer.js';

function asObject(r: ContainerReadings, attributes: ContainerAttributes): ContainerStats {
  const u64 = (value: bigint) => ({ value });
  return {
    attributes,
    cpu: { timestamp: r.at, usageCoreNanoSeconds: u64(r.cpuNs), usageNanoCores: u64(r.nanoCores), psi: undefined },
    memory: { timestamp: r.at, workingSetBytes: u64(r.workingSet), availableBytes: undefined, usageBytes: u64(r.memoryUsage), rssBytes: u64(r.rss), pageFaults: u64(r.pageFaults), majorPageFaults: u64(r.majorPageFaults), psi: undefined },
    writableLayer: { timestamp: r.at, fsId: { mountpoint: r.mountpoint }, usedBytes: u64(r.diskBytes), inodesUsed: u64(r.diskInodes) },
    swap: undefined,
    io: undefined,
  };
}

test('containers written field by field decode as the generated encoder\'s objects', () => {
  const cases: Array<[ContainerReadings, ContainerAttributes]> = [
    [
      { at: 1_764_000_000_123_456_789n, cpuNs: 123_456_789n, nanoCores: 5_000_000n, workingSet: 4096n, memoryUsage: 8192n, rss: 1024n, pageFaults: 77n, majorPageFaults: 1n, diskBytes: 12_288n, diskInodes: 3n, mountpoint: '/var/lib/cricket' },
      { id: 'a'.repeat(64), metadata: { name: 'app', attempt: 2 }, labels: { app: 'x', 'io.kubernetes.pod.name': 'p' }, annotations: { note: 'é ü' } },
    ],
    // A stopped container: every reading 0, yet every wrapper present.
    [
      { at: 1n, cpuNs: 0n, nanoCores: 0n, workingSet: 0n, memoryUsage: 0n, rss: 0n, pageFaults: 0n, majorPageFaults: 0n, diskBytes: 0n, diskInodes: 0n, mountpoint: '/r' },
      { id: 'b'.repeat(64), metadata: { name: 'b', attempt: 0 }, labels: {}, annotations: {} },
    ],
    // Counters past 2^53 and near 2^64, and a long mountpoint.
    [
      { at: (1n << 62n) + 1n, cpuNs: (1n << 53n) + 3n, nanoCores: 1n << 40n, workingSet: (1n << 64n) - 1n, memoryUsage: 1n << 60n, rss: 127n, pageFaults: 128n, majorPageFaults: 16_384n, diskBytes: 1n << 50n, diskInodes: 300n, mountpoint: `/${'m'.repeat(300)}` },
      { id: 'c'.repeat(64), metadata: { name: 'c'.repeat(200), attempt: 1 }, labels: { l: 'v'.repeat(500) }, annotations: {} },
    ],
  ];
  const kept = cases.map(([, attributes]) => ContainerAttributes.encode(attributes).finish());
  // A small first buffer: writing must grow it, and move what nested messages already hold.
  const reply = new ProtoWriter(16);
  cases.forEach(([readings], i) => containerStatsField(reply, 1, readings, kept[i]!));
  const decoded = ListContainerStatsResponse.decode(reply.finish());
  assert.deepEqual(decoded, { stats: cases.map(([r, a]) => asObject(r, a)) });
});
