// Bad input gets a clear gRPC status and leaves no state behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { ipReservations, useCricket } from '../harness/cricket.js';
import { containerConfig, containerStatus, podConfig, runPod, startContainer } from '../harness/pods.js';
import { criPackageDefinition, type Message } from '../client/cri.js';

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

// ---- malformed and out-of-range requests ---------------------------------------------------------

/** Sends bytes as they are, bypassing the client's encoder. */
function rawCall(service: 'RuntimeService' | 'ImageService', method: string, body: Buffer): Promise<{ code: number; details: string }> {
  const client = service === 'RuntimeService' ? d.cri.runtime.client : d.cri.image.client;
  const identity = (b: Buffer) => b;
  return new Promise((resolve) => {
    client.makeUnaryRequest<Buffer, Buffer>(`/runtime.v1.${service}/${method}`, identity, identity, body, new Metadata(), { deadline: Date.now() + 10_000 }, (err) => {
      resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: '' });
    });
  });
}

const serialize = (method: string, req: Message): Buffer => {
  const def = criPackageDefinition()['runtime.v1.RuntimeService'] as Record<string, { requestSerialize(m: Message): Buffer }>;
  return def[method]!.requestSerialize(req);
};

test('malformed protobuf is INVALID_ARGUMENT, never INTERNAL; well-formed unknown fields are accepted', async () => {
  const before = await counts();
  const pod = serialize('RunPodSandbox', { config: podConfig(d, 'malformed') });
  const cases: [string, string, Buffer][] = [
    ['Version', 'garbage', Buffer.from([0xff, 0xff, 0xff, 0xff])],
    ['ListPodSandbox', 'length past the end', Buffer.from([0x0a, 0x05, 0x0a])],
    ['RunPodSandbox', 'truncated', pod.subarray(0, Math.floor(pod.length / 2))],
    ['RunPodSandbox', 'message field as varint', Buffer.from([0x08, 0x01])],
    ['RunPodSandbox', 'zero tag inside config', Buffer.concat([Buffer.from([0x0a, 0x02, 0x00, 0x00])])],
    ['RunPodSandbox', 'config given twice', Buffer.concat([pod, pod])],
    ['ListContainers', 'end-group tag', Buffer.from([0x0c])],
    ['ListContainers', 'wire type 7', Buffer.from([0x0f])],
    ['PodSandboxStatus', 'id not UTF-8', Buffer.from([0x0a, 0x02, 0xc3, 0x28])],
    ['StopContainer', 'timeout beyond 2^53', serialize('StopContainer', { container_id: 'x', timeout: '9007199254740993' })],
    ['ListContainers', 'unknown state enum', serialize('ListContainers', { filter: { state: { state: 9 } } })],
    ['PortForward', 'int32 field holding 2^32', Buffer.from([0x0a, 0x01, 0x78, 0x10, 0x80, 0x80, 0x80, 0x80, 0x10])],
  ];
  for (const [method, what, body] of cases) {
    const answer = await rawCall('RuntimeService', method, body);
    assert.equal(answer.code, status.INVALID_ARGUMENT, `${method} with ${what}: ${answer.details}`);
  }
  const image = await rawCall('ImageService', 'PullImage', Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0xff]));
  assert.equal(image.code, status.INVALID_ARGUMENT, image.details);
  // A field this version does not know, well formed, is how newer clients talk: accepted.
  const unknownField = await rawCall('RuntimeService', 'Version', Buffer.from([0xa2, 0x06, 0x02, 0x68, 0x69]));
  assert.equal(unknownField.code, status.OK, unknownField.details);
  assert.deepEqual(await counts(), before);
});

test('uids, gids and supplemental groups outside 0..2^32-2 are INVALID_ARGUMENT in pods and containers', async () => {
  const base = podConfig(d, 'ids');
  const podWith = (sc: Message): Message => ({ ...base, linux: { ...(base.linux as Message), security_context: sc } });
  const before = await counts();
  for (const sc of [
    { run_as_user: { value: '-1' } },
    { run_as_user: { value: '4294967296' } },
    { run_as_user: { value: '4294967295' } },
    { run_as_group: { value: '-5' } },
    { run_as_group: { value: '4294967296' } },
    { supplemental_groups: ['1', '-1'] },
    { supplemental_groups: ['8589934592'] },
  ]) {
    await assert.rejects(call('RunPodSandbox', { config: podWith(sc) }), { code: status.INVALID_ARGUMENT }, JSON.stringify(sc));
  }
  assert.deepEqual(await counts(), before);
  const { id } = await runPod(d, base);
  for (const sc of [
    { run_as_user: { value: '-1' } },
    { run_as_user: { value: '4294967296' } },
    { run_as_group: { value: '4294967296' }, run_as_user: { value: '0' } },
    { supplemental_groups: ['-2'] },
  ]) {
    await assert.rejects(
      call('CreateContainer', { pod_sandbox_id: id, config: containerConfig('ids', ['true'], { linux: { security_context: sc } }) }),
      { code: status.INVALID_ARGUMENT },
      JSON.stringify(sc),
    );
  }
  assert.equal((await counts()).containers, before.containers);
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('unknown enum numbers, NUL bytes and over-long fields are INVALID_ARGUMENT', async () => {
  const base = podConfig(d, 'enums');
  const before = await counts();
  const badPods: Message[] = [
    { ...base, linux: { ...(base.linux as Message), security_context: { namespace_options: { network: 9 } } } },
    { ...base, port_mappings: [{ protocol: 7, container_port: 80 }] },
    { ...base, port_mappings: [{ protocol: 'TCP', container_port: 70000 }] },
    { ...base, metadata: { ...(base.metadata as Message), name: 'n'.repeat(300) } },
    { ...base, metadata: { ...(base.metadata as Message), name: 'a;K8S_POD_NAMESPACE=kube-system' } },
    { ...base, hostname: 'a\0b' },
    { ...base, dns_config: { servers: ['1.1.1.1\noptions ndots:99'] } },
    { ...base, labels: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, 'v'])) },
    { ...base, linux: { cgroup_parent: '/../../escape' } },
    { ...base, linux: { ...(base.linux as Message), sysctls: { '../../../proc/sysrq-trigger': 'b' } } },
  ];
  for (const config of badPods) {
    await assert.rejects(call('RunPodSandbox', { config }), { code: status.INVALID_ARGUMENT }, JSON.stringify(config).slice(0, 200));
  }
  assert.deepEqual(await counts(), before);
  const { id } = await runPod(d, base);
  const badContainers: Message[] = [
    containerConfig('m', ['true'], { mounts: [{ container_path: '/data', host_path: join(d.dir, 'data'), propagation: 5 }] }),
    containerConfig('m', ['tr\0ue']),
    containerConfig('m', ['true'], { envs: [{ key: 'A', value: Buffer.from('x\0y') }] }),
    containerConfig('m', ['true'], { envs: [{ key: 'A=B', value: Buffer.from('x') }] }),
    containerConfig('m', ['true'], { envs: Array.from({ length: 5000 }, (_, i) => ({ key: `K${i}`, value: Buffer.from('v') })) }),
    containerConfig('m', ['x'.repeat(5000)]),
    containerConfig('m', ['true'], { mounts: [{ container_path: '/a\0b', host_path: join(d.dir, 'data') }] }),
    containerConfig('m', ['true'], { mounts: [{ container_path: '/data', host_path: `${d.dir}/data/../../escape` }] }),
    containerConfig('m', ['true'], { stop_signal: 99 }),
    containerConfig('m', ['true'], { working_dir: '/proc/self/mem' }),
    containerConfig('m', ['true'], { working_dir: '/dev/zero' }),
    containerConfig('m', ['true'], { working_dir: '/sys/kernel/x' }),
  ];
  for (const config of badContainers) {
    await assert.rejects(call('CreateContainer', { pod_sandbox_id: id, config }), { code: status.INVALID_ARGUMENT }, JSON.stringify(config).slice(0, 200));
  }
  assert.equal((await counts()).containers, before.containers);
  assert.equal(existsSync(join(d.dir, 'data')), false, 'a refused mount made no host directory');
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('log_directory must be absolute and normal, log_path must stay below it: nothing is written outside', async () => {
  const marker = `escape-${process.pid}`;
  const base = podConfig(d, 'logs');
  const before = await counts();
  for (const logDirectory of ['relative/logs', `${d.dir}/logs/../${marker}`, `${d.dir}/logs/a\0b`, '/', `${d.dir}/logs/`]) {
    await assert.rejects(call('RunPodSandbox', { config: { ...base, log_directory: logDirectory } }), { code: status.INVALID_ARGUMENT }, logDirectory);
  }
  assert.deepEqual(await counts(), before);
  const { id } = await runPod(d, base);
  const logDir = base.log_directory as string;
  for (const logPath of [`../../../${marker}/0.log`, `../../../../../../../../etc/${marker}`, `/${marker}.log`, `a/../../${marker}.log`, 'x\0.log', '.', 'c/']) {
    await assert.rejects(
      call('CreateContainer', { pod_sandbox_id: id, config: containerConfig('esc', ['true'], { log_path: logPath }) }),
      { code: status.INVALID_ARGUMENT },
      logPath,
    );
  }
  for (const place of [join(logDir, '..', '..', '..', marker), join('/etc', marker), join('/', `${marker}.log`), join(d.dir, marker), join(logDir, '..', `${marker}.log`)]) {
    assert.equal(existsSync(place), false, `${place} was written`);
  }
  assert.deepEqual(readdirSync(logDir), [], 'nothing was written in the log directory either');
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('huge StopContainer and ExecSync timeouts wait as long as a timer can, never 1 ms', async () => {
  const pod = podConfig(d, 'timeouts');
  const { id } = await runPod(d, pod);
  // The shell ignores SIGTERM: only the grace period's end (SIGKILL) stops it.
  const c = await startContainer(d, id, pod, containerConfig('stubborn', ['sh', '-c', "trap '' TERM; while :; do sleep 1; done"]));
  const exec = await call('ExecSync', { container_id: c, cmd: ['sh', '-c', 'sleep 0.3; echo ok'], timeout: '1099511627776' }) as { stdout: Buffer; exit_code: number };
  assert.equal(exec.stdout.toString(), 'ok\n');
  assert.equal(exec.exit_code, 0);
  await assert.rejects(call('StopContainer', { container_id: c, timeout: '-1' }), { code: status.INVALID_ARGUMENT });
  await assert.rejects(call('ExecSync', { container_id: c, cmd: ['true'], timeout: '-1' }), { code: status.INVALID_ARGUMENT });
  // 2^40 s is far past what setTimeout holds; clamped, the call keeps waiting for the grace period.
  await assert.rejects(
    d.cri.runtime.call('StopContainer', { container_id: c, timeout: '1099511627776' }, { deadlineMs: 3000 }),
    { code: status.DEADLINE_EXCEEDED },
  );
  assert.equal((await containerStatus(d, c)).state, 'CONTAINER_RUNNING', 'the container was not killed at once');
  await call('StopContainer', { container_id: c, timeout: 0 });
  assert.equal((await containerStatus(d, c)).state, 'CONTAINER_EXITED');
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('a seccomp profile that is a FIFO or a device is refused without blocking the daemon', async () => {
  const pod = podConfig(d, 'seccomp');
  const { id } = await runPod(d, pod);
  const fifo = join(d.dir, 'profile.fifo');
  execFileSync('mkfifo', ['-m', '0600', fifo]);
  for (const ref of [fifo, '/dev/zero']) {
    const sc = { seccomp: { profile_type: 'Localhost', localhost_ref: ref } };
    await assert.rejects(
      d.cri.runtime.call('CreateContainer', { pod_sandbox_id: id, config: containerConfig('sc', ['true'], { linux: { security_context: sc } }) }, { deadlineMs: 10_000 }),
      { code: status.INVALID_ARGUMENT },
      ref,
    );
  }
  await call('Version', {});
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});
