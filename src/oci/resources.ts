import { invalidArgument } from '../errors.js';
import type { LinuxContainerResources } from '../gen/runtime/v1/api.js';

/** Plain, JSON-safe copy of the CRI resources, for records and ContainerStatus. */
export interface ResourceRequest {
  cpuPeriod: number;
  cpuQuota: number;
  cpuShares: number;
  memoryLimitInBytes: number;
  memorySwapLimitInBytes: number;
  oomScoreAdj: number;
  cpusetCpus: string;
  cpusetMems: string;
  hugepageLimits: { pageSize: string; limit: number }[];
  unified: Record<string, string>;
}

const CPUSET = /^(\d+(-\d+)?)(,\d+(-\d+)?)*$/;

/** Validates CRI resources; negative or malformed values are refused, not passed to runc. */
export function resourceRequest(r: LinuxContainerResources): ResourceRequest {
  const num = (value: bigint, what: string, min = 0n): number => {
    if (value < min) throw invalidArgument(`${what} must not be below ${min} (got ${value})`);
    return Number(value);
  };
  if (r.cpusetCpus && !CPUSET.test(r.cpusetCpus)) throw invalidArgument(`cpuset_cpus "${r.cpusetCpus}" is not a CPU list`);
  if (r.cpusetMems && !CPUSET.test(r.cpusetMems)) throw invalidArgument(`cpuset_mems "${r.cpusetMems}" is not a node list`);
  if (r.oomScoreAdj < -1000n || r.oomScoreAdj > 1000n) throw invalidArgument(`oom_score_adj ${r.oomScoreAdj} is outside -1000..1000`);
  return {
    cpuPeriod: num(r.cpuPeriod, 'cpu_period'),
    // -1 is "no limit" for quota and swap, as in cgroups themselves.
    cpuQuota: num(r.cpuQuota, 'cpu_quota', -1n),
    cpuShares: num(r.cpuShares, 'cpu_shares'),
    memoryLimitInBytes: num(r.memoryLimitInBytes, 'memory_limit_in_bytes'),
    memorySwapLimitInBytes: num(r.memorySwapLimitInBytes, 'memory_swap_limit_in_bytes', -1n),
    oomScoreAdj: Number(r.oomScoreAdj),
    cpusetCpus: r.cpusetCpus,
    cpusetMems: r.cpusetMems,
    hugepageLimits: r.hugepageLimits.map((h) => ({ pageSize: h.pageSize, limit: num(h.limit, `hugepage limit ${h.pageSize}`) })),
    unified: { ...r.unified },
  };
}
