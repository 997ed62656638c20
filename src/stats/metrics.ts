import { MetricType, type MetricDescriptor, type Metric, type PodSandboxMetrics } from '../gen/runtime/v1/api.js';
import type { StatsCollector } from './collector.js';

/** The cAdvisor-named metrics cricket reports through ListPodSandboxMetrics. */
const DESCRIPTORS: (MetricDescriptor & { type: MetricType })[] = [
  { name: 'container_cpu_usage_seconds_total', help: 'Cumulative CPU time consumed, in seconds', labelKeys: ['container', 'pod', 'namespace'], type: MetricType.COUNTER },
  { name: 'container_memory_working_set_bytes', help: 'Current working set, in bytes', labelKeys: ['container', 'pod', 'namespace'], type: MetricType.GAUGE },
  { name: 'container_memory_rss', help: 'Resident set size, in bytes', labelKeys: ['container', 'pod', 'namespace'], type: MetricType.GAUGE },
  { name: 'container_network_receive_bytes_total', help: 'Bytes received by the pod', labelKeys: ['interface', 'pod', 'namespace'], type: MetricType.COUNTER },
  { name: 'container_network_transmit_bytes_total', help: 'Bytes sent by the pod', labelKeys: ['interface', 'pod', 'namespace'], type: MetricType.COUNTER },
];

export function metricDescriptors(): MetricDescriptor[] {
  return DESCRIPTORS.map(({ name, help, labelKeys }) => ({ name, help, labelKeys }));
}

const metric = (name: string, at: bigint, labelValues: string[], value: bigint): Metric => ({
  name,
  timestamp: at,
  metricType: DESCRIPTORS.find((d) => d.name === name)!.type,
  labelValues,
  value: { value },
});

export async function podSandboxMetrics(stats: StatsCollector): Promise<PodSandboxMetrics[]> {
  const pods = await stats.listPodSandboxStats(undefined);
  return pods.map((pod) => {
    const podName = pod.attributes?.metadata?.name ?? '';
    const namespace = pod.attributes?.metadata?.namespace ?? '';
    const at = pod.linux?.cpu?.timestamp ?? 0n;
    const metrics: Metric[] = [];
    for (const i of pod.linux?.network?.interfaces ?? []) {
      metrics.push(metric('container_network_receive_bytes_total', at, [i.name, podName, namespace], i.rxBytes?.value ?? 0n));
      metrics.push(metric('container_network_transmit_bytes_total', at, [i.name, podName, namespace], i.txBytes?.value ?? 0n));
    }
    return {
      podSandboxId: pod.attributes?.id ?? '',
      metrics,
      containerMetrics: (pod.linux?.containers ?? []).map((c) => {
        const name = c.attributes?.metadata?.name ?? '';
        const labels = [name, podName, namespace];
        return {
          containerId: c.attributes?.id ?? '',
          metrics: [
            metric('container_cpu_usage_seconds_total', c.cpu?.timestamp ?? at, labels, (c.cpu?.usageCoreNanoSeconds?.value ?? 0n) / 1_000_000_000n),
            metric('container_memory_working_set_bytes', c.memory?.timestamp ?? at, labels, c.memory?.workingSetBytes?.value ?? 0n),
            metric('container_memory_rss', c.memory?.timestamp ?? at, labels, c.memory?.rssBytes?.value ?? 0n),
          ],
        };
      }),
    };
  });
}
