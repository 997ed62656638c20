import type { ResourceRequest } from '../oci/resources.js';

/** Limits of a pod's own cgroup; `undefined` leaves a value as it is, -1 means no limit. */
export interface PodCgroupLimits {
  cpuShares?: number;
  cpuPeriod: number;
  cpuQuota: number;
  memoryLimit: number;
}

/** One write into a cgroup: the controller's directory (v1) and the file. */
export interface CgroupWrite {
  controller: string;
  file: string;
  value: string;
}

const DEFAULT_CPU_PERIOD = 100_000;
const MIN_SHARES = 2;
const MAX_SHARES = 262_144;

/**
 * What the pod's cgroup gets from UpdatePodSandboxResources: `resources` is the sum of its
 * containers' resources and `overhead` what the runtime class adds on top, so the limits add up.
 * A quota or memory limit that one of them leaves unlimited makes the pod unlimited.
 */
export function podCgroupLimits(resources: ResourceRequest | undefined, overhead: ResourceRequest | undefined): PodCgroupLimits {
  const period = resources?.cpuPeriod || overhead?.cpuPeriod || DEFAULT_CPU_PERIOD;
  const quotaIn = (r: ResourceRequest | undefined): number => {
    if (!r || r.cpuQuota <= 0) return -1;
    // A quota is a share of its own period: expressed over the pod's period before adding.
    return Math.ceil((r.cpuQuota * period) / (r.cpuPeriod || DEFAULT_CPU_PERIOD));
  };
  const quotas = [resources, overhead].filter((r): r is ResourceRequest => r !== undefined).map(quotaIn);
  const cpuQuota = quotas.length === 0 || quotas.includes(-1) ? -1 : quotas.reduce((a, b) => a + b, 0);
  const memories = [resources, overhead].filter((r): r is ResourceRequest => r !== undefined).map((r) => r.memoryLimitInBytes);
  const memoryLimit = memories.length === 0 || memories.includes(0) ? -1 : memories.reduce((a, b) => a + b, 0);
  const shares = (resources?.cpuShares ?? 0) + (overhead?.cpuShares ?? 0);
  return {
    cpuShares: shares ? Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares)) : undefined,
    cpuPeriod: period,
    cpuQuota,
    memoryLimit,
  };
}

/** cgroup v2's cpu.weight for v1 cpu.shares, with the mapping runc and the kernel docs use. */
export function sharesToWeight(shares: number): number {
  return Math.floor(1 + ((shares - MIN_SHARES) * 9999) / (MAX_SHARES - MIN_SHARES));
}

/**
 * The writes that set `limits`, in an order the kernel accepts: on v1 the quota is lifted before
 * the period changes (a child's quota may not exceed its parent's at any moment).
 */
export function cgroupWrites(limits: PodCgroupLimits, version: 1 | 2): CgroupWrite[] {
  if (version === 2) {
    const writes: CgroupWrite[] = [];
    if (limits.cpuShares !== undefined) writes.push({ controller: '', file: 'cpu.weight', value: String(sharesToWeight(limits.cpuShares)) });
    writes.push({ controller: '', file: 'cpu.max', value: `${limits.cpuQuota > 0 ? limits.cpuQuota : 'max'} ${limits.cpuPeriod}` });
    writes.push({ controller: '', file: 'memory.max', value: limits.memoryLimit > 0 ? String(limits.memoryLimit) : 'max' });
    return writes;
  }
  const writes: CgroupWrite[] = [];
  if (limits.cpuShares !== undefined) writes.push({ controller: 'cpu', file: 'cpu.shares', value: String(limits.cpuShares) });
  writes.push(
    { controller: 'cpu', file: 'cpu.cfs_quota_us', value: '-1' },
    { controller: 'cpu', file: 'cpu.cfs_period_us', value: String(limits.cpuPeriod) },
  );
  if (limits.cpuQuota > 0) writes.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(limits.cpuQuota) });
  writes.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: String(limits.memoryLimit > 0 ? limits.memoryLimit : -1) });
  return writes;
}
