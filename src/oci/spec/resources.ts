import { invalidArgument } from '../../errors.js';
import { resourceRequest, type ResourceRequest } from '../resources.js';
import type { OciResources } from '../spec-types.js';
import type { ContainerSpecInput, NodeFacts, PauseSpecInput, SpecOpt } from './types.js';

/** The OCI form of a resource request, holding only what the node's cgroups can enforce. */
export function ociResources(req: ResourceRequest, node: Pick<NodeFacts, 'cgroupVersion' | 'hugetlb' | 'swap'>): OciResources {
  const resources: OciResources = {};
  const cpu: NonNullable<OciResources['cpu']> = {};
  if (req.cpuShares) cpu.shares = req.cpuShares;
  if (req.cpuQuota) cpu.quota = req.cpuQuota;
  if (req.cpuPeriod) cpu.period = req.cpuPeriod;
  if (req.cpusetCpus) cpu.cpus = req.cpusetCpus;
  if (req.cpusetMems) cpu.mems = req.cpusetMems;
  if (Object.keys(cpu).length) resources.cpu = cpu;
  if (req.memoryLimitInBytes) {
    resources.memory = { limit: req.memoryLimitInBytes };
    // Without a swap limit of its own, memory and swap together may not pass the memory limit:
    // a container does not swap unless asked to, as Kubernetes expects.
    if (node.swap) resources.memory.swap = req.memorySwapLimitInBytes || req.memoryLimitInBytes;
  }
  if (req.hugepageLimits.length && node.hugetlb) resources.hugepageLimits = req.hugepageLimits.map((h) => ({ ...h }));
  if (Object.keys(req.unified).length) {
    if (node.cgroupVersion !== 2) throw invalidArgument('unified cgroup resources need cgroup v2; this node runs cgroup v1');
    resources.unified = { ...req.unified };
  }
  return resources;
}

/**
 * The request's limits, and its OOM score adjustment raised to the node's floor (no process may
 * go below cricket's own). Without resources in the request, neither is set.
 */
export const withContainerResources: SpecOpt<ContainerSpecInput> = (spec, { config, node }) => {
  if (!config.linux?.resources) return;
  const req = resourceRequest(config.linux.resources);
  spec.linux.resources = { ...spec.linux.resources, ...ociResources(req, node) };
  spec.process.oomScoreAdj = Math.max(req.oomScoreAdj, node.minOomScoreAdj);
};

/** The cgroup runc creates (cgroupfs), as the caller placed it under the pod's parent. */
export const withContainerCgroupsPath: SpecOpt<ContainerSpecInput> = (spec, { cgroupsPath }) => {
  spec.linux.cgroupsPath = cgroupsPath;
};

export const withPauseCgroupsPath: SpecOpt<PauseSpecInput> = (spec, { cgroupsPath }) => {
  spec.linux.cgroupsPath = cgroupsPath;
};
