// The Stream* list calls at 1,000 pods: records with large annotations are written into the
// daemon's root before it starts (it loads them as it would after a restart), so the unary List*
// answers come near kubelet's 16 MiB message limit while each streamed message stays bounded.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { criClientConstructors, criClients, type Message } from '../client/cri.js';
import { startCricket, type TestDaemon } from '../harness/cricket.js';

const PODS = 1000;
/** Bytes of annotations per record: 1,000 pods then take ~12 MB in one ListPodSandbox answer. */
const ANNOTATION_BYTES = 12_000;
/** What the server promises per message (src/server/stream-chunks.ts), checked from outside. */
const MAX_MESSAGE_BYTES = 2 * 1024 * 1024 + 64 * 1024;
const MAX_ITEMS = 200;

const hex = (n: number) => randomBytes(n).toString('hex');
const podIds = Array.from({ length: PODS }, () => hex(32));
const containerIds = Array.from({ length: PODS }, () => hex(32));
const bigAnnotations = () => ({ 'test.cricket/filler-a': hex(ANNOTATION_BYTES / 4), 'test.cricket/filler-b': hex(ANNOTATION_BYTES / 4) });
const created = (i: number) => String(1_700_000_000_000_000_000n + BigInt(i));

function writeRecords(dir: string): void {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'sandboxes'), { recursive: true, mode: 0o700 });
  mkdirSync(join(root, 'containers'), { recursive: true, mode: 0o700 });
  for (let i = 0; i < PODS; i++) {
    const sandbox = {
      id: podIds[i], name: `scale-${i}`, namespace: 'scale', uid: hex(16), attempt: 0, state: 'notready',
      createdAt: created(i), labels: { app: 'scale', parity: i % 2 ? 'odd' : 'even' }, annotations: bigAnnotations(),
      runtimeHandler: '', hostname: `scale-${i}`, logDirectory: '', privileged: false, cgroupParent: '',
      namespaces: { network: 2, pid: 0, ipc: 0, targetId: '' }, netnsPath: '', ips: [], portMappings: [], pausePid: 0, config: {},
    };
    const container = {
      id: containerIds[i], sandboxId: podIds[i], name: `app-${i}`, attempt: 0, state: 'exited',
      createdAt: created(i), startedAt: created(i), finishedAt: created(i), exitCode: 0, reason: 'Completed', message: '',
      labels: { app: 'scale', parity: i % 2 ? 'odd' : 'even' }, annotations: bigAnnotations(),
      imageSpec: 'cricket.local/busybox:latest', imageId: '', imageRef: '', logPath: '', mounts: [], stopSignal: '', pid: 0,
      released: true, config: {},
    };
    writeFileSync(join(root, 'sandboxes', `${sandbox.id}.json`), JSON.stringify(sandbox), { mode: 0o600 });
    writeFileSync(join(root, 'containers', `${container.id}.json`), JSON.stringify(container), { mode: 0o600 });
  }
}

let daemon: TestDaemon | undefined;
const d = async () => (daemon ??= await startCricket({ prepare: writeRecords }));
after(async () => {
  if (!daemon) return;
  // The records were made by hand and own nothing: they go as they came, with the daemon down.
  await daemon.kill();
  for (const kind of ['sandboxes', 'containers']) {
    for (const f of readdirSync(join(daemon.root, kind))) rmSync(join(daemon.root, kind, f));
  }
  await daemon.restart();
  await daemon.stop();
});

/** Every message of a stream, raw (for its size) and decoded. */
async function streamRaw(method: string, request: Message): Promise<{ sizes: number[]; messages: Message[] }> {
  const ctor = method === 'StreamImages' ? criClientConstructors().ImageService : criClientConstructors().RuntimeService;
  const def = ctor.service[method] as grpc.MethodDefinition<Message, Message>;
  const client = new ctor(`unix:${(await d()).socket}`, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      const sizes: number[] = [];
      const messages: Message[] = [];
      const call = client.makeServerStreamRequest<Message, Buffer>(def.path, def.requestSerialize, (b: Buffer) => b, request, new grpc.Metadata(), { deadline: Date.now() + 120_000 });
      call.on('data', (b: Buffer) => {
        sizes.push(b.length);
        messages.push(def.responseDeserialize(b));
      });
      call.on('error', reject);
      call.on('end', () => resolve({ sizes, messages }));
    });
  } finally {
    client.close();
  }
}

function checkBounds(sizes: number[], counts: number[]): void {
  for (const size of sizes) assert.ok(size <= MAX_MESSAGE_BYTES, `a message of ${size} bytes`);
  for (const count of counts) assert.ok(count > 0 && count <= MAX_ITEMS, `a message of ${count} items`);
}

test('StreamPodSandboxes sends 1,000 pods in bounded messages, as ListPodSandbox lists them', async (t) => {
  await d();
  const started = Date.now();
  const { sizes, messages } = await streamRaw('StreamPodSandboxes', {});
  t.diagnostic(`${messages.length} messages, largest ${Math.max(...sizes)} bytes, ${sizes.reduce((a, b) => a + b, 0)} in all, ${Date.now() - started} ms`);
  const items = messages.flatMap((m) => m.pod_sandboxes as Message[]);
  checkBounds(sizes, messages.map((m) => (m.pod_sandboxes as Message[]).length));
  assert.ok(messages.length >= 5, `${messages.length} messages`);
  assert.deepEqual(new Set(items.map((p) => p.id)), new Set(podIds));
  const total = sizes.reduce((a, b) => a + b, 0);
  assert.ok(total > 10 * 1024 * 1024, `the whole list is ${total} bytes`);

  // The unary twin needs a client that accepts the whole ~12 MB answer; a default client does not.
  const wide = criClients((await d()).socket, { channelOptions: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 } });
  const narrow = criClients((await d()).socket);
  try {
    const listed = await wide.runtime.call<{ items: Message[] }>('ListPodSandbox', {});
    assert.equal(listed.items.length, PODS);
    const byId = new Map(items.map((p) => [p.id, p]));
    for (const p of listed.items) assert.deepEqual(byId.get(p.id as string), p);
    await assert.rejects(narrow.runtime.call('ListPodSandbox', {}), (err: grpc.ServiceError) => err.code === grpc.status.RESOURCE_EXHAUSTED);
  } finally {
    wide.close();
    narrow.close();
  }
});

test('StreamPodSandboxes and StreamContainers apply the List* filters', async () => {
  const odd = await streamRaw('StreamPodSandboxes', { filter: { label_selector: { parity: 'odd' } } });
  const oddPods = odd.messages.flatMap((m) => m.pod_sandboxes as Message[]);
  assert.equal(oddPods.length, PODS / 2);
  assert.ok(oddPods.every((p) => (p.labels as Record<string, string>).parity === 'odd'));
  const one = await streamRaw('StreamPodSandboxes', { filter: { id: podIds[7]!.slice(0, 16) } });
  assert.deepEqual(one.messages.flatMap((m) => m.pod_sandboxes as Message[]).map((p) => p.id), [podIds[7]]);
  const ready = await streamRaw('StreamPodSandboxes', { filter: { state: { state: 'SANDBOX_READY' } } });
  assert.equal(ready.messages.flatMap((m) => m.pod_sandboxes as Message[]).length, 0);

  const all = await streamRaw('StreamContainers', {});
  checkBounds(all.sizes, all.messages.map((m) => (m.containers as Message[]).length));
  const containers = all.messages.flatMap((m) => m.containers as Message[]);
  assert.deepEqual(new Set(containers.map((c) => c.id)), new Set(containerIds));
  assert.ok(containers.every((c) => c.state === 'CONTAINER_EXITED'));
  const ofPod = await streamRaw('StreamContainers', { filter: { pod_sandbox_id: podIds[3] } });
  assert.deepEqual(ofPod.messages.flatMap((m) => m.containers as Message[]).map((c) => c.id), [containerIds[3]]);
  const running = await streamRaw('StreamContainers', { filter: { state: { state: 'CONTAINER_RUNNING' } } });
  assert.equal(running.messages.flatMap((m) => m.containers as Message[]).length, 0);
  const even = await streamRaw('StreamContainers', { filter: { label_selector: { parity: 'even' } } });
  assert.equal(even.messages.flatMap((m) => m.containers as Message[]).length, PODS / 2);
});

test('the stats and metrics streams cover every pod and container in bounded messages', async () => {
  const cstats = await streamRaw('StreamContainerStats', {});
  checkBounds(cstats.sizes, cstats.messages.map((m) => (m.container_stats as Message[]).length));
  assert.equal(cstats.messages.flatMap((m) => m.container_stats as Message[]).length, PODS);
  const filtered = await streamRaw('StreamContainerStats', { filter: { pod_sandbox_id: podIds[9], label_selector: {} } });
  assert.deepEqual(filtered.messages.flatMap((m) => m.container_stats as Message[]).map((s) => (s.attributes as Message).id), [containerIds[9]]);

  const pstats = await streamRaw('StreamPodSandboxStats', {});
  checkBounds(pstats.sizes, pstats.messages.map((m) => (m.pod_sandbox_stats as Message[]).length));
  const pods = pstats.messages.flatMap((m) => m.pod_sandbox_stats as Message[]);
  assert.deepEqual(new Set(pods.map((p) => (p.attributes as Message).id)), new Set(podIds));
  const oddStats = await streamRaw('StreamPodSandboxStats', { filter: { label_selector: { parity: 'odd' } } });
  assert.equal(oddStats.messages.flatMap((m) => m.pod_sandbox_stats as Message[]).length, PODS / 2);

  const metrics = await streamRaw('StreamPodSandboxMetrics', {});
  checkBounds(metrics.sizes, metrics.messages.map((m) => (m.pod_sandbox_metrics as Message[]).length));
  assert.deepEqual(new Set(metrics.messages.flatMap((m) => m.pod_sandbox_metrics as Message[]).map((p) => p.pod_sandbox_id)), new Set(podIds));
});
