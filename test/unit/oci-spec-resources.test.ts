// Resource rules: CPU, memory, swap and hugepages where the node's cgroups have them, unified
// keys only on v2, the OOM score floor, the cgroup path as given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerSpec } from '../../src/oci/spec/container.js';
import { resourceRequest } from '../../src/oci/resources.js';
import { ociResources } from '../../src/oci/spec/resources.js';
import { LinuxContainerResources } from '../../src/gen/runtime/v1/api.js';
import { containerInput, NODE_V1, NODE_V2, request } from './oci-spec-fixtures.js';

const res = (r: Partial<LinuxContainerResources>) => request('x', ['true'], { linux: { resources: r } });

test('CPU and memory limits; zero values are left out', () => {
  const spec = containerSpec(containerInput(res({ cpuShares: 256n, cpuQuota: 20000n, memoryLimitInBytes: 1048576n })));
  assert.deepEqual(spec.linux.resources!.cpu, { shares: 256, quota: 20000 });
  assert.deepEqual(spec.linux.resources!.memory, { limit: 1048576 });
  assert.deepEqual(spec.linux.resources!.devices, [{ allow: false, access: 'rwm' }]);
});

test('swap and hugepages only where the node can enforce them', () => {
  const req = resourceRequest(LinuxContainerResources.fromPartial({ memoryLimitInBytes: 100n, memorySwapLimitInBytes: 200n, hugepageLimits: [{ pageSize: '2MB', limit: 2097152n }] }));
  assert.deepEqual(ociResources(req, NODE_V1), { memory: { limit: 100 } });
  assert.deepEqual(ociResources(req, NODE_V2), { memory: { limit: 100, swap: 200 }, hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }] });
  // No swap limit asked for: memory and swap together stay within the memory limit.
  const noSwap = resourceRequest(LinuxContainerResources.fromPartial({ memoryLimitInBytes: 100n }));
  assert.deepEqual(ociResources(noSwap, NODE_V2), { memory: { limit: 100, swap: 100 } });
  assert.deepEqual(ociResources(noSwap, NODE_V1), { memory: { limit: 100 } });
});

test('unified keys need cgroup v2', () => {
  assert.throws(() => containerSpec(containerInput(res({ unified: { 'memory.high': '1' } }))), /need cgroup v2/);
  assert.deepEqual(containerSpec(containerInput(res({ unified: { 'memory.high': '1' } }), { node: NODE_V2 })).linux.resources!.unified, { 'memory.high': '1' });
});

test('OOM score adjust never below the node floor; absent without resources', () => {
  assert.equal(containerSpec(containerInput(res({ oomScoreAdj: -999n }), { node: { ...NODE_V1, minOomScoreAdj: -100 } })).process.oomScoreAdj, -100);
  assert.equal(containerSpec(containerInput(res({ oomScoreAdj: 500n }))).process.oomScoreAdj, 500);
  assert.equal(containerSpec(containerInput(request('x', ['true']))).process.oomScoreAdj, undefined);
});

test('bad values are refused; the cgroup path is the one given', () => {
  assert.throws(() => containerSpec(containerInput(res({ cpuShares: -1n }))), /cpu_shares must not be below 0/);
  assert.throws(() => containerSpec(containerInput(res({ cpusetCpus: '0-x' }))), /not a CPU list/);
  assert.equal(containerSpec(containerInput(request('x', ['true']), { cgroupsPath: '/pods/abc' })).linux.cgroupsPath, '/pods/abc');
});
