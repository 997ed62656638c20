// Resources reach the container's cgroup; stats and events describe what happens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { TEST_CGROUP_PARENT, TEST_SUBNET, useCricket, waitFor } from '../harness/cricket.js';
import { containerConfig, containerStatus, httpGetEventually, podConfig, runPod, startContainer, waitExited, logLines } from '../harness/pods.js';
import type { Message } from '../client/cri.js';

const d = useCricket();

const call = <T extends Message = Message>(method: string, req: Message) => d.cri.runtime.call<T>(method, req);
const cgroupFile = (controller: string, id: string, file: string) =>
  readFileSync(join('/sys/fs/cgroup', controller, TEST_CGROUP_PARENT, id, file), 'utf8').trim();
const v1 = existsSync('/sys/fs/cgroup/memory');

test('CPU, memory and OOM score limits are set, and UpdateContainerResources changes them', async (t) => {
  const pod = podConfig(d, 'limits');
  const { id: podId } = await runPod(d, pod);
  const c = await startContainer(d, podId, pod, containerConfig('limited', ['sleep', '3600'], {
    linux: { resources: { memory_limit_in_bytes: 64 * 1024 * 1024, cpu_shares: 512, cpu_quota: 50000, cpu_period: 100000, oom_score_adj: 500 } },
  }));
  const pid = d.runcState(c)!.pid;
  assert.equal(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim(), '500');
  if (!v1) return t.skip('cgroup v2 host: file names differ');
  assert.equal(cgroupFile('memory', c, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
  assert.equal(cgroupFile('cpu', c, 'cpu.shares'), '512');
  assert.equal(cgroupFile('cpu', c, 'cpu.cfs_quota_us'), '50000');
  await call('UpdateContainerResources', { container_id: c, linux: { memory_limit_in_bytes: 128 * 1024 * 1024, cpu_shares: 256 } });
  assert.equal(cgroupFile('memory', c, 'memory.limit_in_bytes'), String(128 * 1024 * 1024));
  assert.equal(cgroupFile('cpu', c, 'cpu.shares'), '256');
  const { status: s } = await call<{ status: { resources: { linux: { memory_limit_in_bytes: string } } } }>('ContainerStatus', { container_id: c });
  assert.equal(s.resources.linux.memory_limit_in_bytes, String(128 * 1024 * 1024));
  await assert.rejects(call('UpdateContainerResources', { container_id: c, linux: { memory_limit_in_bytes: -1 } }), { code: status.INVALID_ARGUMENT });
  // The kernel would round one share up to two and runc would fail on reading that back.
  await assert.rejects(call('UpdateContainerResources', { container_id: c, linux: { cpu_shares: 1 } }), { code: status.INVALID_ARGUMENT });
  assert.equal(cgroupFile('cpu', c, 'cpu.shares'), '256');
});

test('a memory limit below what the container uses is FAILED_PRECONDITION, and the limit stays', async (t) => {
  if (!v1) return t.skip('cgroup v2 lowers memory.max by reclaiming, it does not refuse');
  const pod = podConfig(d, 'busy-memory');
  const { id: podId } = await runPod(d, pod);
  // 16 MB of tmpfs pages, charged to the container that wrote them.
  const c = await startContainer(d, podId, pod, containerConfig('holder', ['sh', '-c', 'head -c 16000000 /dev/zero > /dev/shm/held && sleep 3600'], {
    linux: { resources: { memory_limit_in_bytes: 64 * 1024 * 1024 } },
  }));
  const usage = () => Number(cgroupFile('memory', c, 'memory.usage_in_bytes'));
  await waitFor('the container to hold 16 MB', () => (usage() >= 16_000_000 ? true : undefined), 10_000);
  assert.ok(Number(cgroupFile('memory', c, 'memory.usage_in_bytes')) >= 16_000_000, 'the container holds its 16 MB');
  await assert.rejects(call('UpdateContainerResources', { container_id: c, linux: { memory_limit_in_bytes: 8 * 1024 * 1024 } }), (err: { code: number; details: string }) => {
    assert.equal(err.code, status.FAILED_PRECONDITION, err.details);
    assert.match(err.details, /current usage/);
    return true;
  });
  assert.equal(cgroupFile('memory', c, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
});

test('negative or malformed resources are refused', async () => {
  const pod = podConfig(d, 'bad-limits');
  const { id: podId } = await runPod(d, pod);
  for (const resources of [{ memory_limit_in_bytes: -5 }, { cpu_shares: -1 }, { cpu_shares: 1 }, { cpu_shares: 262_145 }, { cpuset_cpus: 'zero' }, { oom_score_adj: 5000 }]) {
    await assert.rejects(call('CreateContainer', { pod_sandbox_id: podId, config: containerConfig('bad', ['true'], { linux: { resources } }) }), { code: status.INVALID_ARGUMENT }, JSON.stringify(resources));
  }
  const { containers } = await call<{ containers: unknown[] }>('ListContainers', { filter: { pod_sandbox_id: podId } });
  assert.equal(containers.length, 0);
});

test('pod sysctls, DNS config and hostname reach the containers', async () => {
  const pod = podConfig(d, 'pod-settings', {
    hostname: 'custom-host',
    dns_config: { servers: ['10.99.0.53'], searches: ['svc.example', 'example'], options: ['ndots:5'] },
    linux: { cgroup_parent: `/${TEST_CGROUP_PARENT}`, sysctls: { 'kernel.shm_rmid_forced': '1', 'net.ipv4.ip_unprivileged_port_start': '1024' } },
  });
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('reader', ['sh', '-c', 'cat /proc/sys/kernel/shm_rmid_forced /proc/sys/net/ipv4/ip_unprivileged_port_start; hostname; cat /etc/resolv.conf']));
  const s = await waitExited(d, c);
  const out = logLines(s.log_path);
  assert.deepEqual(out, ['1', '1024', 'custom-host', 'search svc.example example', 'nameserver 10.99.0.53', 'options ndots:5']);
});

test('a hostPort reaches the pod through the node', async () => {
  const pod = podConfig(d, 'hostport', { port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: 18081, host_ip: '127.0.0.1' }] });
  const { id } = await runPod(d, pod);
  await startContainer(d, id, pod, containerConfig('web', ['sh', '-c', 'mkdir /tmp/w; echo via-hostport > /tmp/w/index.html; exec httpd -f -p 80 -h /tmp/w']));
  const res = await httpGetEventually('127.0.0.1', 18081);
  assert.equal(res.body, 'via-hostport\n');
});

test('container and pod stats: CPU, memory, writable layer and network', async () => {
  const pod = podConfig(d, 'stats');
  const { id: podId, ip } = await runPod(d, pod);
  const c = await startContainer(d, podId, pod, containerConfig('busy', ['sh', '-c',
    'dd if=/dev/zero of=/big bs=1M count=6 2>/dev/null; mkdir /tmp/w; echo hi > /tmp/w/index.html; httpd -p 80 -h /tmp/w; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 3600']));
  await httpGetEventually(ip, 80);
  await new Promise((r) => setTimeout(r, 500));
  interface Stats { attributes: { id: string }; cpu: { usage_core_nano_seconds: { value: string } }; memory: { working_set_bytes: { value: string }; usage_bytes: { value: string }; rss_bytes: { value: string }; page_faults: { value: string } }; writable_layer: { used_bytes: { value: string }; inodes_used: { value: string } } }
  const { stats } = await call<{ stats: Stats }>('ContainerStats', { container_id: c });
  assert.equal(stats.attributes.id, c);
  assert.ok(BigInt(stats.cpu.usage_core_nano_seconds.value) > 0n);
  assert.ok(BigInt(stats.memory.working_set_bytes.value) > 0n);
  // Every memory figure is read from the cgroup's files: the shell and httpd hold anonymous
  // memory and have faulted pages in, and the working set is a part of the usage.
  assert.ok(BigInt(stats.memory.rss_bytes.value) > 0n, stats.memory.rss_bytes.value);
  assert.ok(BigInt(stats.memory.page_faults.value) > 0n, stats.memory.page_faults.value);
  assert.ok(BigInt(stats.memory.usage_bytes.value) >= BigInt(stats.memory.working_set_bytes.value));
  assert.ok(BigInt(stats.writable_layer.used_bytes.value) >= 6n * 1024n * 1024n, stats.writable_layer.used_bytes.value);
  assert.ok(BigInt(stats.writable_layer.inodes_used.value) >= 3n);
  const list = await call<{ stats: Stats[] }>('ListContainerStats', { filter: { pod_sandbox_id: podId } });
  assert.deepEqual(list.stats.map((s) => s.attributes.id), [c]);
  const pods = await call<{ stats: { attributes: { id: string }; linux: { network: { default_interface: { name: string; rx_bytes: { value: string } } }; containers: Stats[]; process: { process_count: { value: string } } } } }>('PodSandboxStats', { pod_sandbox_id: podId });
  assert.equal(pods.stats.linux.network.default_interface.name, 'eth0');
  assert.ok(BigInt(pods.stats.linux.network.default_interface.rx_bytes.value) > 0n);
  assert.equal(pods.stats.linux.containers.length, 1);
  assert.ok(BigInt(pods.stats.linux.process.process_count.value) >= 2n);
  const all = await call<{ stats: { attributes: { id: string } }[] }>('ListPodSandboxStats', { filter: { id: podId } });
  assert.deepEqual(all.stats.map((s) => s.attributes.id), [podId]);
  const metrics = await call<{ pod_metrics: { pod_sandbox_id: string; container_metrics: { metrics: { name: string }[] }[] }[] }>('ListPodSandboxMetrics', {});
  const mine = metrics.pod_metrics.find((m) => m.pod_sandbox_id === podId);
  assert.ok(mine?.container_metrics[0]?.metrics.some((m) => m.name === 'container_memory_working_set_bytes'));
  const descriptors = await call<{ descriptors: { name: string }[] }>('ListMetricDescriptors', {});
  assert.ok(descriptors.descriptors.length > 0);
});

test('GetContainerEvents streams the lifecycle of containers and sandboxes', async () => {
  const stream = d.cri.runtime.stream('GetContainerEvents', {});
  const events: { container_id: string; container_event_type: string }[] = [];
  stream.on('data', (e: { container_id: string; container_event_type: string }) => events.push(e));
  stream.on('error', () => undefined);
  await new Promise((r) => setTimeout(r, 200));
  const pod = podConfig(d, 'events');
  const { id: podId } = await runPod(d, pod);
  const c = await startContainer(d, podId, pod, containerConfig('ev', ['sh', '-c', 'exit 0']));
  await waitExited(d, c);
  await call('RemoveContainer', { container_id: c });
  await call('StopPodSandbox', { pod_sandbox_id: podId });
  await call('RemovePodSandbox', { pod_sandbox_id: podId });
  await new Promise((r) => setTimeout(r, 200));
  stream.cancel();
  const of = (id: string) => events.filter((e) => e.container_id === id).map((e) => e.container_event_type);
  assert.deepEqual(of(c), ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT']);
  assert.deepEqual(of(podId), ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT']);
});

test('RuntimeConfig, UpdateRuntimeConfig and verbose Status', async () => {
  const rc = await call<{ linux: { cgroup_driver: string } }>('RuntimeConfig', {});
  assert.equal(rc.linux.cgroup_driver, 'CGROUPFS');
  await call('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: TEST_SUBNET } } });
  await assert.rejects(call('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: 'not-a-cidr' } } }), { code: status.INVALID_ARGUMENT });
  const s = await call<{ info: Record<string, string> }>('Status', { verbose: true });
  assert.equal(JSON.parse(s.info.config!).podCidr, TEST_SUBNET);
  assert.equal((await containerStatus(d, 'x'.repeat(3)).catch((e: { code: number }) => e.code)), status.NOT_FOUND);
});
