import {
  ContainerStats,
  PodSandboxMetrics,
  PodSandboxStats,
  type RuntimeServiceServer,
  type StreamContainersResponse,
  type StreamPodSandboxesResponse,
} from '../gen/runtime/v1/api.js';
import type { RuntimeContext } from '../runtime-context.js';
import type { StatsCollector } from '../stats/collector.js';
import { podSandboxMetrics } from '../stats/metrics.js';
import { encodedReply, messageOfFields } from './encoded-reply.js';
import { containerListFields, podSandboxListFields } from './list-replies.js';
import { encodedFieldSize, streamList } from './stream-chunks.js';

/**
 * The Stream* twins of the RuntimeService's List* calls (CRI list streaming): the same filters
 * and items, sent in chunks so that a node with many pods never nears the message size limit.
 */
export function streamListHandlers(ctx: RuntimeContext, stats: StatsCollector): Partial<RuntimeServiceServer> {
  return {
    // Pods and containers go out as the wire bytes the List* replies keep for each record.
    streamPodSandboxes: streamList('StreamPodSandboxes', (req) => podSandboxListFields(ctx, req.filter), (field) => field.length, (fields) => encodedReply<StreamPodSandboxesResponse>(messageOfFields(fields))),
    streamContainers: streamList('StreamContainers', (req) => containerListFields(ctx, req.filter), (field) => field.length, (fields) => encodedReply<StreamContainersResponse>(messageOfFields(fields))),
    streamContainerStats: streamList('StreamContainerStats', (req) => stats.listContainerStats(req.filter), encodedFieldSize((item) => ContainerStats.encode(item)), (containerStats) => ({ containerStats })),
    streamPodSandboxStats: streamList('StreamPodSandboxStats', (req) => stats.listPodSandboxStats(req.filter), encodedFieldSize((item) => PodSandboxStats.encode(item)), (podSandboxStats) => ({ podSandboxStats })),
    streamPodSandboxMetrics: streamList('StreamPodSandboxMetrics', () => podSandboxMetrics(stats), encodedFieldSize((item) => PodSandboxMetrics.encode(item)), (podSandboxMetrics) => ({ podSandboxMetrics })),
  };
}
