import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinuxContainerResources } from '../../src/gen/runtime/v1/api.js';
import { checkResources } from '../../src/server/security-context-checks.js';

const resources = (r: Partial<Record<'cpuPeriod' | 'cpuQuota' | 'cpuShares' | 'memoryLimitInBytes' | 'memorySwapLimitInBytes' | 'oomScoreAdj', bigint>>) =>
  LinuxContainerResources.fromPartial(r);

test('cgroup values the kernel would change or refuse are refused with the field they concern', () => {
  for (const ok of [{}, { cpuShares: 2n }, { cpuShares: 262_144n }, { cpuPeriod: 1000n, cpuQuota: -1n }, { memoryLimitInBytes: 6n * 1024n * 1024n }]) {
    assert.doesNotThrow(() => checkResources(resources(ok), 'r'), JSON.stringify(ok, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
  }
  const bad: [Parameters<typeof resources>[0], RegExp][] = [
    [{ cpuShares: 1n }, /r\.cpu_shares 1 is outside 0 or 2\.\.262144/],
    [{ cpuShares: 262_145n }, /r\.cpu_shares/],
    [{ cpuShares: -2n }, /r\.cpu_shares/],
    [{ cpuPeriod: 999n }, /r\.cpu_period/],
    [{ cpuQuota: -2n }, /r\.cpu_quota/],
    [{ memoryLimitInBytes: 4096n }, /r\.memory_limit_in_bytes/],
    [{ memoryLimitInBytes: 64n << 20n, memorySwapLimitInBytes: 32n << 20n }, /r\.memory_swap_limit_in_bytes/],
    [{ oomScoreAdj: 1001n }, /r\.oom_score_adj/],
  ];
  for (const [r, message] of bad) assert.throws(() => checkResources(resources(r), 'r'), message);
});
