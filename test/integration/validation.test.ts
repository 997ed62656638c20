// Bad input gets a clear gRPC status and leaves no state behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { ipReservations, useCricket } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod } from '../harness/pods.js';
import type { Message } from '../client/cri.js';

const d = useCricket();

const call = (method: string, req: Message) => d.cri.runtime.call(method, req);
const counts = async () => ({
  pods: ((await call('ListPodSandbox', {})) as { items: unknown[] }).items.length,
  containers: ((await call('ListContainers', {})) as { containers: unknown[] }).containers.length,
  netns: readdirSync(join(d.stateDir, 'netns')).length,
  ips: ipReservations(join(d.root, 'cni')).length,
});

test('RunPodSandbox without metadata or names is INVALID_ARGUMENT', async () => {
  const before = await counts();
  await assert.rejects(call('RunPodSandbox', {}), { code: status.INVALID_ARGUMENT });
  await assert.rejects(call('RunPodSandbox', { config: { hostname: 'x' } }), { code: status.INVALID_ARGUMENT });
  await assert.rejects(call('RunPodSandbox', { config: { metadata: { name: '', namespace: 'default', uid: 'u' } } }), { code: status.INVALID_ARGUMENT });
  await assert.rejects(call('RunPodSandbox', { config: podConfig(d, 'h'), runtime_handler: 'kata' }), { code: status.INVALID_ARGUMENT });
  assert.deepEqual(await counts(), before);
});

test('a different sandbox with the same name, namespace, uid and attempt is ALREADY_EXISTS; the identical request gets the same pod', async () => {
  const pod = podConfig(d, 'dup');
  const { id } = await runPod(d, pod);
  const before = await counts();
  // kubelet's retry of a call that outlived its deadline: the very same request.
  const again = (await call('RunPodSandbox', { config: pod })) as { pod_sandbox_id: string };
  assert.equal(again.pod_sandbox_id, id);
  await assert.rejects(call('RunPodSandbox', { config: { ...pod, labels: { app: 'other' } } }), (err: { code: number; details: string }) => {
    assert.equal(err.code, status.ALREADY_EXISTS);
    assert.match(err.details, new RegExp(id));
    return true;
  });
  assert.deepEqual(await counts(), before);
  // A new attempt of the same pod is fine.
  const next = await runPod(d, { ...pod, metadata: { ...(pod.metadata as Message), attempt: 1 } });
  for (const p of [id, next.id]) {
    await call('StopPodSandbox', { pod_sandbox_id: p });
    await call('RemovePodSandbox', { pod_sandbox_id: p });
  }
});

test('unknown ids are NOT_FOUND where the CRI says so', async () => {
  const unknown = 'f'.repeat(64);
  await assert.rejects(call('PodSandboxStatus', { pod_sandbox_id: unknown }), { code: status.NOT_FOUND });
  await assert.rejects(call('ContainerStatus', { container_id: unknown }), { code: status.NOT_FOUND });
  await assert.rejects(call('StartContainer', { container_id: unknown }), { code: status.NOT_FOUND });
  await assert.rejects(call('StopContainer', { container_id: unknown, timeout: 1 }), { code: status.NOT_FOUND });
  await assert.rejects(call('CreateContainer', { pod_sandbox_id: unknown, config: containerConfig('x', ['true']) }), { code: status.NOT_FOUND });
  await assert.rejects(call('PodSandboxStatus', { pod_sandbox_id: '' }), { code: status.INVALID_ARGUMENT });
  // Stopping or removing what is already gone is not an error.
  await call('StopPodSandbox', { pod_sandbox_id: unknown });
  await call('RemovePodSandbox', { pod_sandbox_id: unknown });
  await call('RemoveContainer', { container_id: unknown });
});

test('an unknown image, a missing command and a not-ready pod are refused', async () => {
  const pod = podConfig(d, 'refusals');
  const { id } = await runPod(d, pod);
  const before = await counts();
  await assert.rejects(call('CreateContainer', { pod_sandbox_id: id, config: { ...containerConfig('x', ['true']), image: { image: 'cricket.local/nope:1' } } }), { code: status.NOT_FOUND });
  await assert.rejects(call('CreateContainer', { pod_sandbox_id: id, config: { image: { image: 'cricket.local/busybox' } } }), { code: status.INVALID_ARGUMENT });
  await assert.rejects(call('CreateContainer', { pod_sandbox_id: id, config: { ...containerConfig('x', []), image: { image: '' } } }), { code: status.INVALID_ARGUMENT });
  const c = (await call('CreateContainer', { pod_sandbox_id: id, config: containerConfig('dup', ['sleep', '10']) })) as { container_id: string };
  // The identical request gets the container made; another one with that name is refused.
  const again = (await call('CreateContainer', { pod_sandbox_id: id, config: containerConfig('dup', ['sleep', '10']) })) as { container_id: string };
  assert.equal(again.container_id, c.container_id);
  await assert.rejects(call('CreateContainer', { pod_sandbox_id: id, config: containerConfig('dup', ['sleep', '11']) }), { code: status.ALREADY_EXISTS });
  await call('StartContainer', { container_id: c.container_id });
  // Once started, a late retry cannot be answered with it any more.
  await assert.rejects(call('CreateContainer', { pod_sandbox_id: id, config: containerConfig('dup', ['sleep', '10']) }), { code: status.ALREADY_EXISTS });
  await assert.rejects(call('StartContainer', { container_id: c.container_id }), { code: status.FAILED_PRECONDITION });
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await assert.rejects(call('CreateContainer', { pod_sandbox_id: id, config: containerConfig('late', ['true']) }), { code: status.FAILED_PRECONDITION });
  const after = await counts();
  assert.equal(after.containers, before.containers + 1);
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('RPCs that are not built yet answer UNIMPLEMENTED', async () => {
  await assert.rejects(call('UpdatePodSandboxResources', { pod_sandbox_id: 'x' }), { code: status.UNIMPLEMENTED });
});
