// requests/limits → the CRI's Linux resources, computed the way kubelet computes them, so a pod
// played here gets the same cgroup values it would get on a cluster node.
import { totalmem } from 'node:os';
import type { Container } from 'kubernetes-types/core/v1.js';
import { bytes, milliCpu } from './quantity.js';

const MIN_SHARES = 2;
const MAX_SHARES = 262_144;
const SHARES_PER_CPU = 1024;
const QUOTA_PERIOD = 100_000;
const MIN_QUOTA = 1000;

export interface LinuxResources {
  cpuShares: number;
  cpuPeriod: number;
  cpuQuota: number;
  memoryLimitInBytes: number;
  oomScoreAdj: number;
}

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

export function milliCpuToShares(milli: number): number {
  if (milli === 0) return MIN_SHARES;
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, Math.floor((milli * SHARES_PER_CPU) / 1000)));
}

export function milliCpuToQuota(milli: number, period = QUOTA_PERIOD): number {
  if (milli === 0) return 0;
  return Math.max(MIN_QUOTA, Math.floor((milli * period) / 1000));
}

interface Amounts {
  cpuRequest: number;
  cpuLimit: number;
  memRequest: number;
  memLimit: number;
}

/** As the API server defaults them: a limit without a request makes the request equal to it. */
function amounts(c: Container): Amounts {
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  const cpuLimit = limits.cpu !== undefined ? milliCpu(limits.cpu) : 0;
  const memLimit = limits.memory !== undefined ? bytes(limits.memory) : 0;
  const cpuRequest = requests.cpu !== undefined ? milliCpu(requests.cpu) : cpuLimit;
  const memRequest = requests.memory !== undefined ? bytes(requests.memory) : memLimit;
  return { cpuRequest, cpuLimit, memRequest, memLimit };
}

/** The pod's QoS class from all its containers, as in Kubernetes' qos.GetPodQOS. */
export function qosClass(containers: Container[]): QosClass {
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const a = amounts(c);
    if (a.cpuRequest || a.memRequest || a.cpuLimit || a.memLimit) any = true;
    if (!a.cpuLimit || !a.memLimit || a.cpuRequest !== a.cpuLimit || a.memRequest !== a.memLimit) guaranteed = false;
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** kubelet's OOM score policy: guaranteed pods last, best-effort first, burstable by request. */
export function oomScoreAdj(c: Container, qos: QosClass, memoryCapacity = totalmem()): number {
  if (qos === 'Guaranteed') return -997;
  if (qos === 'BestEffort') return 1000;
  const request = amounts(c).memRequest;
  const adj = 1000 - Math.floor((1000 * request) / memoryCapacity);
  return Math.min(999, Math.max(2, adj));
}

export function containerResources(c: Container, qos: QosClass, memoryCapacity?: number): LinuxResources {
  const a = amounts(c);
  return {
    cpuShares: milliCpuToShares(a.cpuRequest),
    cpuPeriod: a.cpuLimit ? QUOTA_PERIOD : 0,
    cpuQuota: a.cpuLimit ? milliCpuToQuota(a.cpuLimit) : 0,
    memoryLimitInBytes: a.memLimit,
    oomScoreAdj: oomScoreAdj(c, qos, memoryCapacity),
  };
}
