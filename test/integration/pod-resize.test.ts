// In-place pod resize: UpdatePodSandboxResources sets the pod's own cgroup (its cgroup parent)
// to its resources plus overhead, keeps them on record and shows them in verbose status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Message } from '../client/cri.js';
import { TEST_CGROUP_PARENT, useCricket, waitFor } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';

const d = useCricket();
const call = <T extends Message = Message>(method: string, req: Message) => d.cri.runtime.call<T>(method, req);
const v1 = existsSync('/sys/fs/cgroup/memory/tasks') || existsSync('/sys/fs/cgroup/memory/cgroup.procs');
const MiB = 1024 * 1024;

/** A file of the pod's cgroup, on cgroup v1 or v2. */
function podCgroupFile(parent: string, v1Controller: string, v1File: string, v2File: string): string {
  const path = v1 ? join('/sys/fs/cgroup', v1Controller, parent, v1File) : join('/sys/fs/cgroup', parent, v2File);
  return readFileSync(path, 'utf8').trim();
}

/** kubelet removes a pod's cgroup after the pod; the test does it for the parent it made up. */
function removePodCgroup(parent: string): void {
  const hierarchies = v1 ? readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h)) : ['/sys/fs/cgroup'];
  for (const h of hierarchies) if (existsSync(join(h, parent))) rmdirSync(join(h, parent));
}

/**
 * A pod with a cgroup parent of its own, as kubelet gives every pod; `use` runs with it, then the
 * pod is stopped and removed and the cgroup parent, which kubelet would remove, goes too.
 */
async function withOwnCgroupPod(name: string, use: (pod: Message, id: string, parent: string) => Promise<void>): Promise<void> {
  const pod = podConfig(d, name);
  const uid = (pod.metadata as { uid: string }).uid;
  const parent = `${TEST_CGROUP_PARENT}/pod${uid}`;
  (pod.linux as Message).cgroup_parent = `/${parent}`;
  const { id } = await runPod(d, pod);
  try {
    await use(pod, id, parent);
  } finally {
    await call('StopPodSandbox', { pod_sandbox_id: id });
    await call('RemovePodSandbox', { pod_sandbox_id: id });
    removePodCgroup(parent);
  }
}

test('UpdatePodSandboxResources limits the pod cgroup to resources plus overhead', async () => {
  await withOwnCgroupPod('resize', async (pod, id, parent) => {
    const c = await startContainer(d, id, pod, containerConfig('app', ['sleep', '3600'], {
      linux: { resources: { memory_limit_in_bytes: 64 * MiB, cpu_shares: 512, cpu_quota: 50000, cpu_period: 100000 } },
    }));
    await call('UpdatePodSandboxResources', {
      pod_sandbox_id: id,
      resources: { cpu_shares: 512, cpu_quota: 50000, cpu_period: 100000, memory_limit_in_bytes: 128 * MiB },
      overhead: { cpu_shares: 51, cpu_quota: 10000, cpu_period: 100000, memory_limit_in_bytes: 16 * MiB },
    });
    assert.equal(podCgroupFile(parent, 'memory', 'memory.limit_in_bytes', 'memory.max'), String(144 * MiB));
    if (v1) {
      assert.equal(podCgroupFile(parent, 'cpu', 'cpu.cfs_quota_us', ''), '60000');
      assert.equal(podCgroupFile(parent, 'cpu', 'cpu.cfs_period_us', ''), '100000');
      assert.equal(podCgroupFile(parent, 'cpu', 'cpu.shares', ''), '563');
    } else {
      assert.equal(podCgroupFile(parent, '', '', 'cpu.max'), '60000 100000');
    }
    // The container's process is in the pod's cgroup tree: its own limit sits under the pod's.
    const pid = d.runcState(c)!.pid;
    const cgroupLine = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => (v1 ? /:memory:/.test(l) : l.startsWith('0::')))!;
    assert.ok(cgroupLine.includes(`/${parent}/`), cgroupLine);

    const { info } = await call<{ info: { info: string } }>('PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
    const shown = JSON.parse(info.info) as { podResources: { resources: { memoryLimitInBytes: number }; overhead: { cpuQuota: number } } };
    assert.equal(shown.podResources.resources.memoryLimitInBytes, 128 * MiB);
    assert.equal(shown.podResources.overhead.cpuQuota, 10000);

    // Shrinking, then lifting the limits altogether.
    await call('UpdatePodSandboxResources', { pod_sandbox_id: id, resources: { cpu_shares: 256, cpu_quota: 60000, cpu_period: 100000, memory_limit_in_bytes: 96 * MiB } });
    assert.equal(podCgroupFile(parent, 'memory', 'memory.limit_in_bytes', 'memory.max'), String(96 * MiB));
    await call('UpdatePodSandboxResources', { pod_sandbox_id: id, resources: { cpu_shares: 256 } });
    const unlimited = podCgroupFile(parent, 'memory', 'memory.limit_in_bytes', 'memory.max');
    assert.ok(unlimited === 'max' || BigInt(unlimited) > 1n << 60n, unlimited);

    // UpdateContainerResources with some fields: ContainerStatus reports what is in effect.
    await call('UpdateContainerResources', { container_id: c, linux: { memory_limit_in_bytes: 80 * MiB } });
    const { status } = await call<{ status: { resources: { linux: Record<string, string> } } }>('ContainerStatus', { container_id: c });
    assert.equal(status.resources.linux.memory_limit_in_bytes, String(80 * MiB));
    assert.equal(status.resources.linux.cpu_quota, '50000');
    assert.equal(status.resources.linux.cpu_shares, '512');
    if (v1) assert.equal(readFileSync(join('/sys/fs/cgroup/cpu', parent, c, 'cpu.cfs_quota_us'), 'utf8').trim(), '50000');
  });
});

test('a pod memory limit below what the pod uses is FAILED_PRECONDITION, and the pod cgroup stays as it was', async (t) => {
  if (!v1) return t.skip('cgroup v2 lowers memory.max by reclaiming, it does not refuse');
  await withOwnCgroupPod('resize-busy', async (pod, id, parent) => {
    await call('UpdatePodSandboxResources', { pod_sandbox_id: id, resources: { cpu_shares: 512, cpu_quota: 50000, cpu_period: 100000, memory_limit_in_bytes: 128 * MiB } });
    // 16 MB of tmpfs pages, charged to the container, inside the pod's cgroup.
    await startContainer(d, id, pod, containerConfig('holder', ['sh', '-c', 'head -c 16000000 /dev/zero > /dev/shm/held && sleep 3600']));
    const usage = () => Number(podCgroupFile(parent, 'memory', 'memory.usage_in_bytes', ''));
    await waitFor('the pod to hold 16 MB', () => (usage() >= 16_000_000 ? true : undefined), 10_000);
    assert.ok(Number(podCgroupFile(parent, 'memory', 'memory.usage_in_bytes', '')) >= 16_000_000, 'the pod holds its 16 MB');
    // The CPU writes come first and are undone when the memory write is refused.
    await assert.rejects(
      call('UpdatePodSandboxResources', { pod_sandbox_id: id, resources: { cpu_shares: 256, cpu_quota: 20000, cpu_period: 50000, memory_limit_in_bytes: 8 * MiB } }),
      (err: { code: number; details: string }) => {
        assert.equal(err.code, grpc.status.FAILED_PRECONDITION, err.details);
        assert.match(err.details, /memory\.limit_in_bytes: the pod uses more memory than that/);
        return true;
      },
    );
    assert.equal(podCgroupFile(parent, 'cpu', 'cpu.shares', ''), '512');
    assert.equal(podCgroupFile(parent, 'cpu', 'cpu.cfs_quota_us', ''), '50000');
    assert.equal(podCgroupFile(parent, 'cpu', 'cpu.cfs_period_us', ''), '100000');
    assert.equal(podCgroupFile(parent, 'memory', 'memory.limit_in_bytes', ''), String(128 * MiB));
    const { info } = await call<{ info: { info: string } }>('PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
    assert.equal((JSON.parse(info.info) as { podResources: { resources: { memoryLimitInBytes: number } } }).podResources.resources.memoryLimitInBytes, 128 * MiB);
  });
});

test('UpdatePodSandboxResources refuses what it cannot do', async () => {
  await assert.rejects(call('UpdatePodSandboxResources', { pod_sandbox_id: 'f'.repeat(64), resources: { cpu_shares: 2 } }), { code: grpc.status.NOT_FOUND });
  await assert.rejects(call('UpdatePodSandboxResources', { pod_sandbox_id: '' }), { code: grpc.status.INVALID_ARGUMENT });
  const pod = podConfig(d, 'resize-shared');
  const { id } = await runPod(d, pod);
  await assert.rejects(call('UpdatePodSandboxResources', { pod_sandbox_id: id }), { code: grpc.status.INVALID_ARGUMENT });
  await assert.rejects(call('UpdatePodSandboxResources', { pod_sandbox_id: id, resources: { memory_limit_in_bytes: -4 } }), { code: grpc.status.INVALID_ARGUMENT });
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await assert.rejects(call('UpdatePodSandboxResources', { pod_sandbox_id: id, resources: { cpu_shares: 2 } }), { code: grpc.status.FAILED_PRECONDITION });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});
