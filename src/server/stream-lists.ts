import {
  Container,
  ContainerStats,
  PodSandbox,
  PodSandboxMetrics,
  PodSandboxStats,
  type RuntimeServiceServer,
} from '../gen/runtime/v1/api.js';
import { listContainers } from '../container/status.js';
import type { RuntimeContext } from '../runtime-context.js';
import { listPodSandboxes } from '../sandbox/status.js';
import type { StatsCollector } from '../stats/collector.js';
import { podSandboxMetrics } from '../stats/metrics.js';
import { streamList } from './stream-chunks.js';

/**
 * The Stream* twins of the RuntimeService's List* calls (CRI list streaming): the same filters
 * and items, sent in chunks so that a node with many pods never nears the message size limit.
 */
export function streamListHandlers(ctx: RuntimeContext, stats: StatsCollector): Partial<RuntimeServiceServer> {
  return {
    streamPodSandboxes: streamList('StreamPodSandboxes', (req) => listPodSandboxes(ctx, req.filter), (item) => PodSandbox.encode(item), (podSandboxes) => ({ podSandboxes })),
    streamContainers: streamList('StreamContainers', (req) => listContainers(ctx, req.filter), (item) => Container.encode(item), (containers) => ({ containers })),
    streamContainerStats: streamList('StreamContainerStats', (req) => stats.listContainerStats(req.filter), (item) => ContainerStats.encode(item), (containerStats) => ({ containerStats })),
    streamPodSandboxStats: streamList('StreamPodSandboxStats', (req) => stats.listPodSandboxStats(req.filter), (item) => PodSandboxStats.encode(item), (podSandboxStats) => ({ podSandboxStats })),
    streamPodSandboxMetrics: streamList('StreamPodSandboxMetrics', () => podSandboxMetrics(stats), (item) => PodSandboxMetrics.encode(item), (podSandboxMetrics) => ({ podSandboxMetrics })),
  };
}
