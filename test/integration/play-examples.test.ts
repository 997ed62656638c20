// The examples in examples/ played from their YAML through the CLI and the CRI socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { useCricket, waitFor } from '../harness/cricket.js';
import { httpGet, httpGetEventually } from '../harness/pods.js';
import { cliOk, EXAMPLES, playFlags, podIpFrom } from '../harness/play.js';
import type { Message } from '../client/cri.js';

const d = useCricket();

async function podsNamed(name: string): Promise<Message[]> {
  const { items } = await d.cri.runtime.call<{ items: Message[] }>('ListPodSandbox', { filter: { label_selector: { 'io.kubernetes.pod.name': name } } });
  return items;
}

test('two-containers: the writer\'s page is served over the pod IP from the shared emptyDir; --down leaves nothing', async () => {
  const file = join(EXAMPLES, 'two-containers.yaml');
  const out = await cliOk(['play', ...playFlags(d), '--wait', file]);
  const ip = podIpFrom(out, 'two-containers');
  assert.match(out, /container nginx-container [0-9a-f]{12} running/);

  const [pod] = await podsNamed('two-containers');
  assert.ok(pod, 'a sandbox labelled with the pod name');
  const labels = pod.labels as Record<string, string>;
  assert.equal(labels['io.kubernetes.pod.namespace'], 'default');
  assert.match(labels['io.kubernetes.pod.uid']!, /^[0-9a-f-]{36}$/);
  const uid = labels['io.kubernetes.pod.uid']!;
  const { status } = await d.cri.runtime.call<{ status: Message }>('PodSandboxStatus', { pod_sandbox_id: pod.id });
  assert.equal((status.network as Message).ip, ip);
  const emptyDir = join(d.dir, 'play-pods', uid, 'volumes', 'kubernetes.io~empty-dir', 'shared-data');
  assert.ok(existsSync(emptyDir));

  const { containers } = await d.cri.runtime.call<{ containers: Message[] }>('ListContainers', { filter: { pod_sandbox_id: pod.id } });
  const names = containers.map((c) => (c.labels as Record<string, string>)['io.kubernetes.container.name']).sort();
  assert.deepEqual(names, ['debian-container', 'nginx-container']);

  const res = await waitFor('the page', async () => {
    const r = await httpGetEventually(ip, 80).catch(() => undefined);
    return r?.status === 200 ? r : undefined;
  });
  assert.equal(res.body, 'Hello from the debian container\n');

  const down = await cliOk(['play', ...playFlags(d), '--down', file]);
  assert.match(down, /pod default\/two-containers: removed sandbox/);
  assert.deepEqual(await podsNamed('two-containers'), []);
  assert.ok(!existsSync(join(d.dir, 'play-pods', uid)), 'the emptyDir is gone with the pod');
  assert.deepEqual(readdirSync(join(d.dir, 'pod-logs')), [], 'the pod\'s log directory is gone');
});

test('mc3: the proxy on :80 reaches the app on localhost:5000 through the ConfigMap; :5000 is not reachable from outside', async () => {
  const file = join(EXAMPLES, 'mc3.yaml');
  const out = await cliOk(['play', ...playFlags(d), '--wait', file]);
  const ip = podIpFrom(out, 'mc3');
  const res = await httpGetEventually(ip, 80);
  assert.equal(res.status, 200);
  assert.equal(res.body, 'Hello from the app behind the proxy\n');
  await assert.rejects(httpGet(ip, 5000, 2000), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');

  // The proxy's target is the ConfigMap's file, mounted read-only.
  const [pod] = await podsNamed('mc3');
  const { containers } = await d.cri.runtime.call<{ containers: Message[] }>('ListContainers', { filter: { pod_sandbox_id: pod!.id } });
  const nginx = containers.find((c) => (c.labels as Record<string, string>)['io.kubernetes.container.name'] === 'nginx')!;
  const cat = await d.cri.runtime.call<{ stdout: Buffer; exit_code: number }>('ExecSync', { container_id: nginx.id, cmd: ['cat', '/etc/nginx/conf.d/upstream'], timeout: 10 });
  assert.equal(cat.stdout.toString(), '127.0.0.1 5000');
  const write = await d.cri.runtime.call<{ exit_code: number }>('ExecSync', { container_id: nginx.id, cmd: ['sh', '-c', 'echo x > /etc/nginx/conf.d/upstream'], timeout: 10 });
  assert.notEqual(write.exit_code, 0, 'a configMap volume is read-only');

  await cliOk(['play', ...playFlags(d), '--down', file]);
  assert.deepEqual(await podsNamed('mc3'), []);
  assert.deepEqual(readdirSync(join(d.dir, 'play-pods')), []);
});
