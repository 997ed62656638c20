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
  assert.equal((JSON.parse(ps.info.info) as { pid: number }).pid, d.runcState(id)!.pid);
  const plain = await d.cri.runtime.call<{ info: Record<string, string> }>('ContainerStatus', { container_id: c });
  assert.deepEqual(plain.info, {});
});
