// Runtime handlers (kubelet's RuntimeClass): the essential pod flows under every OCI runtime
// installed on this node, each checked against that runtime's own view of its state root.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { TEST_PREFIX, useCricket, waitFor } from '../harness/cricket.js';
import { containerConfig, containerStatus, httpGetEventually, namespacesOf, podConfig, startContainer, waitExited } from '../harness/pods.js';
import type { Message } from '../client/cri.js';

const d = useCricket();

/** The handlers this node has: runc always, crun when its Debian package is installed. */
function installed(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (existsSync(join(dir, program))) return join(dir, program);
  }
  return undefined;
}
const HANDLERS = ['runc', 'crun'].filter((h) => installed(h));

/** Where each handler keeps its containers (cricket's defaults under the state dir). */
const rootOf = (handler: string) => (handler === 'runc' ? join(d.stateDir, 'runc') : join(d.stateDir, 'runtimes', handler));

/** The container ids the runtime itself lists in its root. */
function listed(handler: string): Map<string, { pid: number; status: string }> {
  const out = execFileSync(handler, ['--root', rootOf(handler), 'list', '--format', 'json'], { encoding: 'utf8' });
  const items = (JSON.parse(out.trim() || 'null') as { id: string; pid: number; status: string }[] | null) ?? [];
  return new Map(items.map((i) => [i.id, { pid: i.pid, status: i.status }]));
}

/** What the test expects from the runtime's own `features`, read here independently. */
function expectedFeatures(handler: string): { recursive_read_only_mounts: boolean; user_namespaces: boolean } {
  let doc: { mountOptions?: string[]; linux?: { namespaces?: string[]; mountExtensions?: { idmap?: { enabled?: boolean } } } } = {};
  try {
    doc = JSON.parse(execFileSync(handler, ['features'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    // No `features` command: nothing may be claimed.
  }
  const [major, minor] = release().split('.').map(Number) as [number, number];
  const kernel = major > 5 || (major === 5 && minor >= 12);
  // Under runc, cricket makes the idmapped mounts itself (kernel 5.19+, user namespaces allowed).
  const idmapKernel = major > 5 || (major === 5 && minor >= 19);
  const usernsAllowed = Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')) > 0;
  const byCricket = handler === 'runc' && idmapKernel && usernsAllowed;
  return {
    recursive_read_only_mounts: kernel && (doc.mountOptions ?? []).includes('rro'),
    user_namespaces: byCricket || ((doc.linux?.namespaces ?? []).includes('user') && doc.linux?.mountExtensions?.idmap?.enabled === true),
  };
}

async function runPodWith(handler: string, pod: Message): Promise<{ id: string; ip: string }> {
  const { pod_sandbox_id } = await d.cri.runtime.call<{ pod_sandbox_id: string }>('RunPodSandbox', { config: pod, runtime_handler: handler });
  const { status } = await d.cri.runtime.call<{ status: { network: { ip: string } } }>('PodSandboxStatus', { pod_sandbox_id });
  return { id: pod_sandbox_id, ip: status.network.ip };
}

async function removePod(id: string): Promise<void> {
  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
}

const isCode = (code: number, pattern?: RegExp) => (err: { code: number; details: string }) => err.code === code && (!pattern || pattern.test(err.details));

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) {
    try {
      execFileSync('umount', ['-R', dir], { stdio: 'ignore' });
    } catch {
      // Not mounted (the test unmounted it itself).
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test('crun is installed on this node (scripts/setup.sh installs it)', () => {
  assert.deepEqual(HANDLERS, ['runc', 'crun']);
});

test('Status lists every handler with the features probed on this node', async () => {
  const { runtime_handlers: handlers } = await d.cri.runtime.call<{ runtime_handlers: { name: string; features: Record<string, boolean> }[] }>('Status', {});
  assert.deepEqual(handlers.map((h) => h.name), ['', ...HANDLERS]);
  for (const h of handlers) {
    const expected = expectedFeatures(h.name || 'runc');
    assert.deepEqual({ recursive_read_only_mounts: h.features.recursive_read_only_mounts ?? false, user_namespaces: h.features.user_namespaces ?? false }, expected, `features of "${h.name}"`);
  }
});

test('an unknown runtime handler is INVALID_ARGUMENT and leaves nothing behind', async () => {
  await assert.rejects(d.cri.runtime.call('RunPodSandbox', { config: podConfig(d, 'nohandler'), runtime_handler: 'kata' }), isCode(grpcStatus.INVALID_ARGUMENT, /unknown runtime handler "kata"/));
  const { items } = await d.cri.runtime.call<{ items: unknown[] }>('ListPodSandbox', {});
  assert.deepEqual(items, []);
});

for (const handler of HANDLERS) {
  test(`${handler}: two containers share an emptyDir and the pod IP; exec, stats, update, stop and remove`, async () => {
    const pod = podConfig(d, `pair-${handler}`);
    const { id: podId, ip } = await runPodWith(handler, pod);
    const emptyDir = join(d.dir, 'pods', podId, 'volumes', 'shared');
    mkdirSync(emptyDir, { recursive: true });
    const web = await startContainer(d, podId, pod, containerConfig('web', ['httpd', '-f', '-p', '80', '-h', '/www'], {
      mounts: [{ container_path: '/www', host_path: emptyDir }],
    }));
    const writer = await startContainer(d, podId, pod, containerConfig('writer', ['sh', '-c', `echo served by ${handler} > /data/index.html; readlink /proc/self/ns/net > /data/netns`], {
      mounts: [{ container_path: '/data', host_path: emptyDir }],
    }));
    assert.equal((await waitExited(d, writer)).exit_code, 0);
    const res = await httpGetEventually(ip, 80);
    assert.equal(res.body, `served by ${handler}\n`);

    // The runtime named by the pod holds the pause process and the running container (the
    // writer's state went when it exited); the other runtimes hold neither.
    const mine = listed(handler);
    for (const id of [podId, web]) assert.equal(mine.get(id)?.status, 'running', `${handler} lists ${id} running`);
    for (const other of HANDLERS.filter((h) => h !== handler)) {
      for (const id of [podId, web, writer]) assert.ok(!listed(other).has(id), `${other} does not list ${id}`);
    }
    const pauseNs = namespacesOf(mine.get(podId)!.pid);
    assert.equal(namespacesOf(mine.get(web)!.pid).net, pauseNs.net);
    assert.equal(readFileSync(join(emptyDir, 'netns'), 'utf8').trim(), pauseNs.net);

    const exec = await d.cri.runtime.call<{ stdout: Buffer; stderr: Buffer; exit_code: number }>('ExecSync', { container_id: web, cmd: ['sh', '-c', 'cat /www/index.html; exit 4'], timeout: 0 }, { deadlineMs: 30_000 });
    assert.equal(String(exec.stdout), `served by ${handler}\n`);
    assert.equal(exec.exit_code, 4);

    const { stats } = await d.cri.runtime.call<{ stats: { attributes: { id: string }; cpu: { usage_core_nano_seconds: { value: string } }; memory: { working_set_bytes: { value: string } } } }>('ContainerStats', { container_id: web });
    assert.equal(stats.attributes.id, web);
    assert.ok(BigInt(stats.cpu.usage_core_nano_seconds.value) > 0n);
    assert.ok(BigInt(stats.memory.working_set_bytes.value) > 0n);

    // busybox httpd as PID 1 ignores SIGTERM: a short grace, then SIGKILL through the handler.
    // UpdateContainerResources reaches the cgroup through the pod's handler.
    const memoryCgroup = readFileSync(`/proc/${mine.get(web)!.pid}/cgroup`, 'utf8').split('\n').find((l) => /^\d+:memory:/.test(l))!.split(':')[2]!;
    await d.cri.runtime.call('UpdateContainerResources', { container_id: web, linux: { memory_limit_in_bytes: 96 * 1024 * 1024 } });
    assert.equal(readFileSync(join('/sys/fs/cgroup/memory', memoryCgroup, 'memory.limit_in_bytes'), 'utf8').trim(), String(96 * 1024 * 1024));
    await d.cri.runtime.call('StopContainer', { container_id: web, timeout: 1 });
    const stopped = await containerStatus(d, web);
    assert.equal(stopped.state, 'CONTAINER_EXITED');
    await d.cri.runtime.call('RemoveContainer', { container_id: web });
    await assert.rejects(containerStatus(d, web), isCode(grpcStatus.NOT_FOUND));
    assert.ok(!listed(handler).has(web), `${handler} no longer lists the removed container`);

    await removePod(podId);
    const left = listed(handler);
    for (const id of [podId, writer]) assert.ok(!left.has(id), `${handler} no longer lists ${id}`);
  });
}

test('pods of every handler keep running across a restart of cricket, which finds them in each root', async () => {
  const pods = [];
  for (const handler of HANDLERS) {
    const pod = podConfig(d, `survivor-${handler}`);
    const { id } = await runPodWith(handler, pod);
    const c = await startContainer(d, id, pod, containerConfig('sleeper', ['sleep', '300']));
    pods.push({ handler, id, c, pid: listed(handler).get(c)!.pid });
  }
  await d.kill();
  await d.restart();
  for (const p of pods) {
    const { status } = await d.cri.runtime.call<{ status: { state: string } }>('PodSandboxStatus', { pod_sandbox_id: p.id });
    assert.equal(status.state, 'SANDBOX_READY', `${p.handler} pod is still ready`);
    assert.equal((await containerStatus(d, p.c)).state, 'CONTAINER_RUNNING', `${p.handler} container is still running`);
    assert.equal(listed(p.handler).get(p.c)?.pid, p.pid, 'the same process');
    const exec = await d.cri.runtime.call<{ stdout: Buffer; exit_code: number }>('ExecSync', { container_id: p.c, cmd: ['echo', p.handler], timeout: 0 }, { deadlineMs: 30_000 });
    assert.equal(String(exec.stdout), `${p.handler}\n`);
    // Stop after the restart reaches the process through the pod's handler.
    await d.cri.runtime.call('StopContainer', { container_id: p.c, timeout: 0 });
    const s = await waitExited(d, p.c);
    assert.equal(s.exit_code, 137);
  }
  for (const p of pods) await removePod(p.id);
});

/**
 * A host directory with a tmpfs mounted below it: a plain read-only bind mount leaves the
 * tmpfs writable inside the container, a recursively read-only one does not.
 */
function nestedMount(): string {
  const dir = mkdtempSync(`${TEST_PREFIX}rro-`);
  tempDirs.push(dir);
  mkdirSync(join(dir, 'sub'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', join(dir, 'sub')]);
  return dir;
}

/** Exit code 2 if the top of /data is writable, plus 1 if the submount is. */
const PROBE = ['sh', '-c', 't=0; s=0; touch /data/top 2>/dev/null && t=2; touch /data/sub/probe 2>/dev/null && s=1; exit $((t+s))'];

for (const handler of HANDLERS) {
  test(`${handler}: recursive read-only mounts where the handler supports them, INVALID_ARGUMENT where not`, async () => {
    const supported = expectedFeatures(handler).recursive_read_only_mounts;
    const dir = nestedMount();
    const pod = podConfig(d, `rro-${handler}`);
    const { id: podId } = await runPodWith(handler, pod);
    try {
      const plain = await startContainer(d, podId, pod, containerConfig('plain', PROBE, { mounts: [{ container_path: '/data', host_path: dir, readonly: true }] }));
      assert.equal((await waitExited(d, plain)).exit_code, 1, 'ro alone: the top is read-only, the submount is not');

      const rro = { container_path: '/data', host_path: dir, readonly: true, recursive_read_only: true };
      const create = (name: string, mount: Message) => d.cri.runtime.call<{ container_id: string }>('CreateContainer', { pod_sandbox_id: podId, config: containerConfig(name, PROBE, { mounts: [mount] }), sandbox_config: pod });
      if (supported) {
        const { container_id } = await create('rro', rro);
        const spec = JSON.parse(readFileSync(join(d.stateDir, 'containers', container_id, 'config.json'), 'utf8')) as { mounts: { destination: string; options: string[] }[] };
        const options = spec.mounts.find((m) => m.destination === '/data')!.options;
        assert.ok(options.includes('ro') && options.includes('rro'), options.join(','));
        await d.cri.runtime.call('StartContainer', { container_id });
        assert.equal((await waitExited(d, container_id)).exit_code, 0, 'rro: the submount is read-only too');
      } else {
        await assert.rejects(create('rro', rro), isCode(grpcStatus.INVALID_ARGUMENT, new RegExp(`not supported by runtime handler "${handler}"`)));
      }
      await assert.rejects(create('rro-rw', { ...rro, readonly: false }), isCode(grpcStatus.INVALID_ARGUMENT, /recursive_read_only needs readonly/));
      await assert.rejects(create('rro-slave', { ...rro, propagation: 'PROPAGATION_HOST_TO_CONTAINER' }), isCode(grpcStatus.INVALID_ARGUMENT, /private propagation/));
      const { containers } = await d.cri.runtime.call<{ containers: { metadata: { name: string } }[] }>('ListContainers', { filter: { pod_sandbox_id: podId } });
      assert.deepEqual(containers.map((c) => c.metadata.name).sort(), supported ? ['plain', 'rro'] : ['plain'], 'refused requests made nothing');
    } finally {
      await removePod(podId);
      execFileSync('umount', [join(dir, 'sub')]);
      await waitFor('the tmpfs to be unmounted', () => (readFileSync('/proc/self/mounts', 'utf8').includes(dir) ? undefined : true));
    }
  });
}
