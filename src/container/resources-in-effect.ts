import type { ResourceRequest } from '../oci/resources.js';

/**
 * The resources a container has after an UpdateContainerResources: `runc update` changes only
 * the values it is given (a zero or empty field is not sent, see ociResources) and never the OOM
 * score, so what ContainerStatus reports is the previous set with the given values laid over it.
 */
export function resourcesInEffect(previous: ResourceRequest | undefined, update: ResourceRequest): ResourceRequest {
  if (!previous) return update;
  return {
    cpuPeriod: update.cpuPeriod || previous.cpuPeriod,
    cpuQuota: update.cpuQuota || previous.cpuQuota,
    cpuShares: update.cpuShares || previous.cpuShares,
    memoryLimitInBytes: update.memoryLimitInBytes || previous.memoryLimitInBytes,
    memorySwapLimitInBytes: update.memorySwapLimitInBytes || previous.memorySwapLimitInBytes,
    oomScoreAdj: previous.oomScoreAdj,
    cpusetCpus: update.cpusetCpus || previous.cpusetCpus,
    cpusetMems: update.cpusetMems || previous.cpusetMems,
    hugepageLimits: update.hugepageLimits.length ? update.hugepageLimits : previous.hugepageLimits,
    unified: Object.keys(update.unified).length ? { ...previous.unified, ...update.unified } : previous.unified,
  };
}
