// The Stream* list calls answer what their List* twins answer, with the same filters, for a
// small real set: two pods, a running and an exited container, the imported images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, type Message } from '../client/cri.js';
import { useCricket } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer, waitExited } from '../harness/pods.js';

const d = useCricket();

async function streamed(method: string, field: string, request: Message = {}, service: 'runtime' | 'image' = 'runtime'): Promise<Message[]> {
  const messages = await collect(d.cri[service].stream(method, request, { deadlineMs: 60_000 }));
  return messages.flatMap((m) => m[field] as Message[]);
}

const byId = (items: Message[], id: (m: Message) => unknown = (m) => m.id) => [...items].sort((a, b) => String(id(a)).localeCompare(String(id(b))));

test('streams and lists agree on pods, containers, stats, metrics and images', async () => {
  const podA = podConfig(d, 'stream-a', { labels: { app: 'stream-a', group: 'g1' } });
  const podB = podConfig(d, 'stream-b', { labels: { app: 'stream-b', group: 'g2' } });
  const a = await runPod(d, podA);
  const b = await runPod(d, podB);
  const running = await startContainer(d, a.id, podA, containerConfig('sleeper', ['sleep', '300'], { labels: { role: 'long' } }));
  const done = await startContainer(d, b.id, podB, containerConfig('quick', ['true'], { labels: { role: 'short' } }));
  await waitExited(d, done);
  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: b.id });

  const listPods = async (filter: Message) => (await d.cri.runtime.call<{ items: Message[] }>('ListPodSandbox', { filter })).items;
  for (const filter of [{}, { label_selector: { group: 'g1' } }, { state: { state: 'SANDBOX_NOTREADY' } }, { id: b.id }]) {
    const streamedPods = await streamed('StreamPodSandboxes', 'pod_sandboxes', { filter });
    assert.deepEqual(byId(streamedPods), byId(await listPods(filter)), `pods with ${JSON.stringify(filter)}`);
  }
  assert.deepEqual((await streamed('StreamPodSandboxes', 'pod_sandboxes', { filter: { label_selector: { group: 'g1' } } })).map((p) => p.id), [a.id]);

  const listContainers = async (filter: Message) => (await d.cri.runtime.call<{ containers: Message[] }>('ListContainers', { filter })).containers;
  for (const filter of [{}, { pod_sandbox_id: a.id }, { state: { state: 'CONTAINER_EXITED' } }, { label_selector: { role: 'long' } }, { id: running.slice(0, 12) }]) {
    const streamedContainers = await streamed('StreamContainers', 'containers', { filter });
    assert.deepEqual(byId(streamedContainers), byId(await listContainers(filter)), `containers with ${JSON.stringify(filter)}`);
  }
  assert.deepEqual((await streamed('StreamContainers', 'containers', { filter: { state: { state: 'CONTAINER_EXITED' } } })).map((c) => c.id), [done]);

  // Stats change between two readings: the same items, compared by their identity.
  const attrs = (items: Message[]) => items.map((s) => s.attributes as Message).sort((x, y) => String(x.id).localeCompare(String(y.id)));
  const cstats = await streamed('StreamContainerStats', 'container_stats', { filter: { label_selector: { role: 'long' } } });
  const clisted = (await d.cri.runtime.call<{ stats: Message[] }>('ListContainerStats', { filter: { label_selector: { role: 'long' } } })).stats;
  assert.deepEqual(attrs(cstats), attrs(clisted));
  assert.equal(attrs(cstats)[0]?.id, running);
  assert.ok(Number(((cstats[0]!.memory as Message).working_set_bytes as Message).value) > 0, 'a running container has memory in use');
  const pstats = await streamed('StreamPodSandboxStats', 'pod_sandbox_stats', {});
  const plisted = (await d.cri.runtime.call<{ stats: Message[] }>('ListPodSandboxStats', {})).stats;
  assert.deepEqual(attrs(pstats), attrs(plisted));
  assert.equal(pstats.length, 2);
  const metrics = await streamed('StreamPodSandboxMetrics', 'pod_sandbox_metrics');
  const mlisted = (await d.cri.runtime.call<{ pod_metrics: Message[] }>('ListPodSandboxMetrics', {})).pod_metrics;
  assert.deepEqual(metrics.map((m) => m.pod_sandbox_id).sort(), mlisted.map((m) => m.pod_sandbox_id).sort());
  assert.deepEqual(
    metrics.flatMap((m) => (m.container_metrics as Message[]).map((c) => c.container_id)).sort(),
    mlisted.flatMap((m) => (m.container_metrics as Message[]).map((c) => c.container_id)).sort(),
  );

  const images = await streamed('StreamImages', 'images', {}, 'image');
  const ilisted = (await d.cri.image.call<{ images: Message[] }>('ListImages', {})).images;
  assert.deepEqual(byId(images), byId(ilisted));
  assert.ok(images.length >= 2);
  const one = await streamed('StreamImages', 'images', { filter: { image: { image: 'cricket.local/busybox:latest' } } }, 'image');
  assert.equal(one.length, 1);
  assert.equal(await streamed('StreamImages', 'images', { filter: { image: { image: 'cricket.local/none:latest' } } }, 'image').then((l) => l.length), 0);
});
