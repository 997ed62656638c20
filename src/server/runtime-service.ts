import { readFileSync } from 'node:fs';
import {
  CgroupDriver,
  ContainerStatusResponse,
  type ListContainerStatsResponse,
  PodSandboxStatusResponse,
  RuntimeServiceService,
  type RuntimeServiceServer,
} from '../gen/runtime/v1/api.js';
import { invalidArgument } from '../errors.js';
import { checkpointContainer } from '../container/checkpoint.js';
import { createContainer } from '../container/create.js';
import { removeContainer } from '../container/remove.js';
import { startContainer } from '../container/start.js';
import { containerStatus, podContainerStatuses } from '../container/status.js';
import { stopContainer } from '../container/stop.js';
import { containerProcessUser } from '../container/process-user.js';
import { containerStatusReply, podSandboxStatusReply } from './status-replies.js';
import type { RegistriesConfig } from '../image/registry-config.js';
import type { RuntimeContext } from '../runtime-context.js';
import { removePodSandbox } from '../sandbox/remove.js';
import { runPodSandbox } from '../sandbox/run.js';
import { podSandboxStatus } from '../sandbox/status.js';
import { stopPodSandbox } from '../sandbox/stop.js';
import { updatePodSandboxResources } from '../sandbox/update-resources.js';
import { nowNs } from '../store/clock.js';
import { updateContainerResources } from '../container/update-resources.js';
import { StatsCollector } from '../stats/collector.js';
import { metricDescriptors, podSandboxMetrics } from '../stats/metrics.js';
import { containerEvents } from './container-events.js';
import type { StreamingServer } from '../streaming/server.js';
import { streamingHandlers } from './streaming-handlers.js';
import { encodedReply } from './encoded-reply.js';
import { listContainersReply, listPodSandboxReply } from './list-replies.js';
import { streamListHandlers } from './stream-lists.js';
import { containerInfo, sandboxInfo } from './verbose-info.js';
import { runtimeChecks } from './request-checks.js';
import { strictDefinition, withRequestChecks } from './strict-service.js';
import { unary } from './unary.js';
import { withUnimplemented } from './unimplemented.js';
import { userNamespaceSupport } from '../oci/user-namespace-support.js';

/** RuntimeService as served: requests are checked against the proto before they are decoded. */
export const runtimeServiceDefinition = strictDefinition(RuntimeServiceService, 'runtime.v1.RuntimeService');

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Registry settings as Status may show them: never a password, token or auth string. */
function withoutCredentials(registries: RegistriesConfig): Record<string, { mirrors: string[]; caFiles: string[]; insecure: boolean }> {
  return Object.fromEntries(
    Object.entries(registries).map(([host, r]) => [host, { mirrors: r.mirrors, caFiles: r.caFiles, insecure: r.insecure }]),
  );
}

function requireId(value: string, what: string): string {
  if (!value) throw invalidArgument(`${what} is required`);
  return value;
}

/** The CRI RuntimeService: validation and mapping only; the work is in sandbox/ and container/. */
export function runtimeService(ctx: RuntimeContext, streaming: StreamingServer): RuntimeServiceServer {
  const stats = new StatsCollector(ctx);
  const implemented: Partial<RuntimeServiceServer> = {
    version: unary('Version', () => ({
      version: '0.1.0',
      runtimeName: 'cricket',
      runtimeVersion: VERSION,
      runtimeApiVersion: 'v1',
    })),
    status: unary('Status', (req) => {
      const network = ctx.network.status();
      return {
        status: {
          conditions: [
            { type: 'RuntimeReady', status: true, reason: '', message: '' },
            { type: 'NetworkReady', status: network.ready, reason: network.reason, message: network.message },
          ],
        },
        info: (req.verbose
          ? { config: JSON.stringify({ ...ctx.config, registries: withoutCredentials(ctx.config.registries), podCidr: ctx.network.podCidr }), network: JSON.stringify({ name: ctx.network.name, ...network }) }
          : {}) as Record<string, string>,
        runtimeHandlers: ctx.runtimes.names().map((name) => {
          const { recursiveReadOnlyMounts, userNamespaces } = ctx.runtimes.forHandler(name).features;
          // cricket makes the idmapped mounts itself where runc cannot (1.1): pods with their own
          // user namespace run under runc on a kernel that allows them. Tested with runc only.
          const idmappedByCricket = (name === '' || name === 'runc') && userNamespaceSupport().supported;
          return { name, features: { recursiveReadOnlyMounts, userNamespaces: userNamespaces || idmappedByCricket } };
        }),
        features: { supplementalGroupsPolicy: true, userNamespacesHostNetwork: false },
      };
    }),
    runPodSandbox: unary('RunPodSandbox', async (req) => {
      if (!req.config) throw invalidArgument('RunPodSandbox needs a config');
      return { podSandboxId: await runPodSandbox(ctx, req.config, req.runtimeHandler) };
    }),
    stopPodSandbox: unary('StopPodSandbox', async (req) => {
      await stopPodSandbox(ctx, requireId(req.podSandboxId, 'pod_sandbox_id'));
      return {};
    }),
    removePodSandbox: unary('RemovePodSandbox', async (req) => {
      await removePodSandbox(ctx, requireId(req.podSandboxId, 'pod_sandbox_id'));
      return {};
    }),
    podSandboxStatus: unary('PodSandboxStatus', (req) => {
      // The relist's case from kept bytes; verbose adds the containers and the runtime's info.
      if (!req.verbose) return podSandboxStatusReply(ctx, requireId(req.podSandboxId, 'pod_sandbox_id'));
      const status = podSandboxStatus(ctx, requireId(req.podSandboxId, 'pod_sandbox_id'));
      return PodSandboxStatusResponse.create({ status, info: sandboxInfo(ctx, status.id), containersStatuses: podContainerStatuses(ctx, status.id), timestamp: nowNs() });
    }),
    listPodSandbox: unary('ListPodSandbox', (req) => listPodSandboxReply(ctx, req.filter)),
    createContainer: unary('CreateContainer', async (req) => {
      if (!req.config) throw invalidArgument('CreateContainer needs a config');
      return { containerId: await createContainer(ctx, requireId(req.podSandboxId, 'pod_sandbox_id'), req.config) };
    }),
    startContainer: unary('StartContainer', async (req) => {
      await startContainer(ctx, requireId(req.containerId, 'container_id'));
      return {};
    }),
    stopContainer: unary('StopContainer', async (req) => {
      // Never negative, and clamped to what a timer can wait (request-checks.ts).
      const timeout = Number(req.timeout);
      await stopContainer(ctx, requireId(req.containerId, 'container_id'), timeout);
      return {};
    }),
    removeContainer: unary('RemoveContainer', async (req) => {
      await removeContainer(ctx, requireId(req.containerId, 'container_id'));
      return {};
    }),
    checkpointContainer: unary('CheckpointContainer', async (req) => {
      await checkpointContainer(ctx, requireId(req.containerId, 'container_id'), req.location, Number(req.timeout));
      return {};
    }),
    containerStatus: unary('ContainerStatus', (req) => {
      const id = requireId(req.containerId, 'container_id');
      // The relist's case, answered at once: no verbose info, the process already read.
      const ready = req.verbose ? undefined : containerStatusReply(ctx, id);
      if (ready) return ready;
      return (async () => {
        const status = containerStatus(ctx, id);
        status.user = await containerProcessUser(ctx.containers.get(status.id));
        return ContainerStatusResponse.create({ status, info: req.verbose ? await containerInfo(ctx, status.id) : {} });
      })();
    }),
    listContainers: unary('ListContainers', (req) => listContainersReply(ctx, req.filter)),
    ...streamListHandlers(ctx, stats),
    ...streamingHandlers(ctx, streaming),
    updateContainerResources: unary('UpdateContainerResources', async (req) => {
      if (!req.linux) throw invalidArgument('UpdateContainerResources needs linux resources');
      await updateContainerResources(ctx, requireId(req.containerId, 'container_id'), req.linux);
      return {};
    }),
    containerStats: unary('ContainerStats', async (req) => ({ stats: await stats.containerStats(requireId(req.containerId, 'container_id')) })),
    listContainerStats: unary('ListContainerStats', async (req) => encodedReply<ListContainerStatsResponse>(await stats.listContainerStatsWire(req.filter))),
    podSandboxStats: unary('PodSandboxStats', async (req) => ({ stats: await stats.podSandboxStats(requireId(req.podSandboxId, 'pod_sandbox_id')) })),
    listPodSandboxStats: unary('ListPodSandboxStats', async (req) => ({ stats: await stats.listPodSandboxStats(req.filter) })),
    listMetricDescriptors: unary('ListMetricDescriptors', () => ({ descriptors: metricDescriptors() })),
    listPodSandboxMetrics: unary('ListPodSandboxMetrics', async () => ({ podMetrics: await podSandboxMetrics(stats) })),
    getContainerEvents: containerEvents(ctx),
    updatePodSandboxResources: unary('UpdatePodSandboxResources', async (req) => {
      await updatePodSandboxResources(ctx, requireId(req.podSandboxId, 'pod_sandbox_id'), { resources: req.resources, overhead: req.overhead });
      return {};
    }),
    runtimeConfig: unary('RuntimeConfig', () => ({ linux: { cgroupDriver: CgroupDriver.CGROUPFS } })),
    updateRuntimeConfig: unary('UpdateRuntimeConfig', async (req) => {
      await ctx.network.updatePodCidr(req.runtimeConfig?.networkConfig?.podCidr ?? '');
      return {};
    }),
  };
  return withUnimplemented<RuntimeServiceServer>(
    RuntimeServiceService,
    withRequestChecks(RuntimeServiceService, implemented as RuntimeServiceServer, runtimeChecks),
  );
}
