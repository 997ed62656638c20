// kubelet and crictl speak to the CRI socket through grpc-go: the relist calls made by grpc-go
// (bench/go-client, built by npm test), with the :authority of kubelet 1.31 and later
// ("localhost") and of older ones (the socket path), on one connection each; and whole pod
// lifecycles, kubelet's calls one after another, as the benchmark makes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { useCricket } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import { GO_CLIENT, goClientLifecycles, lifecycleRequests } from '../../bench/go-client.js';

const d = useCricket();

test('grpc-go makes the relist calls, with "localhost" and with the socket path as :authority', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(GO_CLIENT), `the grpc-go client was not built (${GO_CLIENT}): npm test builds it with Debian's Go and grpc-go`);
  const pods: { pod: string; container: string }[] = [];
  for (let i = 0; i < 3; i++) {
    const config = podConfig(d, `go-client-${i}`);
    const { id } = await runPod(d, config);
    pods.push({ pod: id, container: await startContainer(d, id, config, containerConfig('app', ['sleep', '3600'])) });
  }
  const rounds = 200;
  const plan = {
    targets: [
      { name: 'localhost', socket: d.socket, pods, authority: 'localhost' },
      { name: 'socket path', socket: d.socket, pods, authority: d.socket },
    ],
    rounds,
    warmup: 20,
    statsEvery: 4,
  };
  const run = spawnSync(GO_CLIENT, [], { input: JSON.stringify(plan), timeout: 100_000, maxBuffer: 64 << 20 });
  assert.equal(run.status, 0, `cri-go-client failed: ${run.stderr?.toString().trim()}`);
  const samples = JSON.parse(run.stdout.toString()) as Record<string, Record<string, number[]>>;
  for (const target of ['localhost', 'socket path']) {
    const figures = samples[target]!;
    for (const figure of ['ListPodSandbox+ListContainers', 'PodSandboxStatus', 'ContainerStatus']) {
      assert.equal(figures[figure]?.length, rounds, `${target}: ${figure} answered every round`);
    }
    assert.equal(figures['ListContainerStats']?.length, rounds / 4, `${target}: ListContainerStats answered`);
  }
});

test('grpc-go runs pod lifecycles through every call kubelet makes for them, and leaves nothing', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(GO_CLIENT), `the grpc-go client was not built (${GO_CLIENT})`);
  const lifecycles = Array.from({ length: 4 }, (_, i) =>
    lifecycleRequests(podConfig(d, `go-lifecycle-${i}`), containerConfig('app', ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'])));
  const samples = await goClientLifecycles([{ name: 'cricket', socket: d.socket, lifecycles }], 1, 10);
  const rpcs = ['RunPodSandbox', 'CreateContainer', 'StartContainer', 'ContainerStatus', 'StopContainer', 'RemoveContainer', 'StopPodSandbox', 'RemovePodSandbox'];
  for (const rpc of rpcs) {
    // The first lifecycle warms up and is not counted.
    assert.equal(samples['cricket']?.[rpc]?.length, 3, `${rpc} timed in every counted lifecycle`);
    assert.ok(samples['cricket']![rpc]!.every((ms) => ms > 0));
  }
  // The relist test's pods stay; none of these lifecycles' is left.
  const { items: pods } = await d.cri.runtime.call<{ items: { id: string; metadata: { name: string } }[] }>('ListPodSandbox', {});
  const mine = pods.filter((p) => p.metadata.name.startsWith('go-lifecycle-'));
  const { containers } = await d.cri.runtime.call<{ containers: { pod_sandbox_id: string }[] }>('ListContainers', {});
  const kept = new Set(pods.map((p) => p.id));
  assert.deepEqual([mine.length, containers.filter((c) => !kept.has(c.pod_sandbox_id)).length], [0, 0], 'every pod and container of the lifecycles was removed');
  assert.equal(pods.length, 3, "the relist test's pods are still there");
});

test('the grpc-go client fails a lifecycle whose call fails, naming the call', { timeout: 60_000 }, async () => {
  // A container without an image: CreateContainer is refused; the pod stays for the caller to remove.
  const lifecycles = [lifecycleRequests(podConfig(d, 'go-lifecycle-bad'), { metadata: { name: 'app', attempt: 0 } })];
  await assert.rejects(goClientLifecycles([{ name: 'cricket', socket: d.socket, lifecycles }], 0, 10), /CreateContainer on cricket/);
  const { items: pods } = await d.cri.runtime.call<{ items: { id: string; metadata: { name: string } }[] }>('ListPodSandbox', {});
  const left = pods.filter((p) => p.metadata.name === 'go-lifecycle-bad');
  assert.equal(left.length, 1, 'the pod made before the refused call is there');
  for (const p of left) {
    await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: p.id });
    await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: p.id });
  }
});
