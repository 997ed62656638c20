import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resourcesInEffect } from '../../src/container/resources-in-effect.js';
import type { ResourceRequest } from '../../src/oci/resources.js';
import { cgroupWrites, podCgroupLimits, sharesToWeight } from '../../src/sandbox/pod-cgroup-limits.js';

const req = (r: Partial<ResourceRequest>): ResourceRequest => ({
  cpuPeriod: 0, cpuQuota: 0, cpuShares: 0, memoryLimitInBytes: 0, memorySwapLimitInBytes: 0, oomScoreAdj: 0,
  cpusetCpus: '', cpusetMems: '', hugepageLimits: [], unified: {}, ...r,
});

describe('pod cgroup limits', () => {
  it('adds the overhead to the pod resources, over the pod period', () => {
    const limits = podCgroupLimits(
      req({ cpuShares: 1024, cpuQuota: 150_000, cpuPeriod: 100_000, memoryLimitInBytes: 256 << 20 }),
      req({ cpuShares: 102, cpuQuota: 5_000, cpuPeriod: 50_000, memoryLimitInBytes: 32 << 20 }),
    );
    assert.deepEqual(limits, { cpuShares: 1126, cpuPeriod: 100_000, cpuQuota: 160_000, memoryLimit: 288 << 20 });
  });

  it('a part without a quota or memory limit leaves the pod unlimited', () => {
    const limits = podCgroupLimits(req({ cpuShares: 2, memoryLimitInBytes: 0, cpuQuota: -1 }), req({ memoryLimitInBytes: 1 << 20, cpuQuota: 1000 }));
    assert.equal(limits.cpuQuota, -1);
    assert.equal(limits.memoryLimit, -1);
    assert.equal(limits.cpuShares, 2);
    assert.equal(podCgroupLimits(undefined, req({})).cpuShares, undefined);
  });

  it('writes v1 files lifting the quota before changing the period', () => {
    const writes = cgroupWrites({ cpuShares: 512, cpuPeriod: 50_000, cpuQuota: 25_000, memoryLimit: 1 << 30 }, 1);
    assert.deepEqual(writes.map((w) => `${w.controller}/${w.file}=${w.value}`), [
      'cpu/cpu.shares=512', 'cpu/cpu.cfs_quota_us=-1', 'cpu/cpu.cfs_period_us=50000', 'cpu/cpu.cfs_quota_us=25000', `memory/memory.limit_in_bytes=${1 << 30}`,
    ]);
    assert.deepEqual(cgroupWrites({ cpuPeriod: 100_000, cpuQuota: -1, memoryLimit: -1 }, 1).map((w) => w.value), ['-1', '100000', '-1']);
  });

  it('writes v2 files: weight from shares, cpu.max and memory.max', () => {
    const writes = cgroupWrites({ cpuShares: 1024, cpuPeriod: 100_000, cpuQuota: 50_000, memoryLimit: 64 << 20 }, 2);
    assert.deepEqual(writes.map((w) => `${w.file}=${w.value}`), ['cpu.weight=39', 'cpu.max=50000 100000', `memory.max=${64 << 20}`]);
    assert.deepEqual(cgroupWrites({ cpuPeriod: 100_000, cpuQuota: -1, memoryLimit: -1 }, 2).map((w) => w.value), ['max 100000', 'max']);
    assert.equal(sharesToWeight(2), 1);
    assert.equal(sharesToWeight(262_144), 10_000);
  });
});

describe('container resources in effect after an update', () => {
  it('keeps what the update leaves out, and the OOM score', () => {
    const before = req({ cpuShares: 512, cpuQuota: 50_000, cpuPeriod: 100_000, memoryLimitInBytes: 64 << 20, oomScoreAdj: 500 });
    const after = resourcesInEffect(before, req({ memoryLimitInBytes: 128 << 20, cpuShares: 256, oomScoreAdj: 10 }));
    assert.deepEqual(after, { ...before, memoryLimitInBytes: 128 << 20, cpuShares: 256 });
    assert.equal(resourcesInEffect(before, req({ cpuQuota: -1 })).cpuQuota, -1);
  });
});
