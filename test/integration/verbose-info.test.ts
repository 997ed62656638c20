// Verbose status answers: what crictl inspect and crictl info show, and what they must not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useCricket } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';

const d = useCricket({
  configToml: '[registries."registry.example"]\nusername = "robot"\npassword = "s3cret-value"\nmirrors = ["mirror.example"]\n',
});

test('verbose Status shows the configuration without registry credentials', async () => {
  const { info } = await d.cri.runtime.call<{ info: Record<string, string> }>('Status', { verbose: true });
  assert.ok(info.config!.includes('mirror.example'));
  assert.ok(!info.config!.includes('s3cret-value'));
  assert.ok(!info.config!.includes('robot'));
});

interface Step {
  step: string;
  startedAt: string;
  ms: number;
}

/** Each named step once, begun after the creation did, in a plausible order, with a duration. */
function checkTimeline(timeline: Step[], names: string[], createdAt: bigint): void {
  assert.deepEqual(timeline.map((s) => s.step).sort(), [...names].sort());
  let previous = createdAt;
  for (const name of names) {
    const step = timeline.find((s) => s.step === name)!;
    assert.ok(step.ms >= 0 && step.ms < 60_000, `${name} took ${step.ms} ms`);
    const at = BigInt(step.startedAt);
    // pause and CNI ADD run at once: only a step after both is ordered after them.
    if (name !== 'cniAdd') assert.ok(at >= previous, `${name} began at ${at}, before ${previous}`);
    if (name !== 'pause') previous = at;
  }
}

test('verbose ContainerStatus and PodSandboxStatus carry pids and the runtime spec', async () => {
  const pod = podConfig(d, 'verbose');
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('v', ['sleep', '3600']));
  const cs = await d.cri.runtime.call<{ info: { info: string } }>('ContainerStatus', { container_id: c, verbose: true });
  const info = JSON.parse(cs.info.info) as { pid: number; sandboxID: string; runtimeSpec: { process: { args: string[] } } };
  assert.equal(info.pid, d.runcState(c)!.pid);
  assert.equal(info.sandboxID, id);
  assert.deepEqual(info.runtimeSpec.process.args, ['sleep', '3600']);
  const ps = await d.cri.runtime.call<{ info: { info: string } }>('PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
  const podInfo = JSON.parse(ps.info.info) as { pid: number; timeline: Step[] };
  assert.equal(podInfo.pid, d.runcState(id)!.pid);
  const podCreated = BigInt((await d.cri.runtime.call<{ status: { created_at: string } }>('PodSandboxStatus', { pod_sandbox_id: id })).status.created_at);
  checkTimeline(podInfo.timeline, ['persist', 'netns', 'bundle', 'pause', 'cniAdd', 'podFiles'], podCreated);
  const created = BigInt((await d.cri.runtime.call<{ status: { created_at: string } }>('ContainerStatus', { container_id: c })).status.created_at);
  checkTimeline((info as unknown as { timeline: Step[] }).timeline, ['layout', 'rootfsMount', 'spec', 'runcCreate', 'start'], created);
  const plain = await d.cri.runtime.call<{ info: Record<string, string> }>('ContainerStatus', { container_id: c });
  assert.deepEqual(plain.info, {});
});
