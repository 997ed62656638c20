// kubelet and crictl speak to the CRI socket through grpc-go: the relist calls made by grpc-go
// (bench/go-client, built by npm test), with the :authority of kubelet 1.31 and later
// ("localhost") and of older ones (the socket path), on one connection each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { useCricket } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import { GO_CLIENT } from '../../bench/go-client.js';

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
