// Pod and container lifecycle through the socket: exits, stops, re-creation, IPs, restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { ipReservations, useCricket, waitFor } from '../harness/cricket.js';
import { containerConfig, containerStatus, podConfig, runPod, startContainer, waitExited } from '../harness/pods.js';
import type { Message } from '../client/cri.js';

const d = useCricket();

const call = <T extends Message = Message>(method: string, req: Message) => d.cri.runtime.call<T>(method, req);

test('Version and Status', async () => {
  const v = await call<{ runtime_name: string; runtime_api_version: string }>('Version', {});
  assert.equal(v.runtime_name, 'cricket');
  assert.equal(v.runtime_api_version, 'v1');
  const s = await call<{ status: { conditions: { type: string; status: boolean }[] } }>('Status', {});
  const byType = Object.fromEntries(s.status.conditions.map((c) => [c.type, c.status]));
  assert.deepEqual(byType, { RuntimeReady: true, NetworkReady: true });
});

test('an exited container reports its exit code and times', async () => {
  const pod = podConfig(d, 'exit-code');
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('fail', ['sh', '-c', 'exit 7']));
  const s = await waitExited(d, c);
  assert.equal(s.exit_code, 7);
  assert.equal(s.reason, 'Error');
  assert.ok(BigInt(s.finished_at) >= BigInt(s.started_at) && BigInt(s.started_at) > 0n);
  assert.equal(s.log_path, join(pod.log_directory as string, 'fail', '0.log'));
});

test('stopping a pod stops its containers; stop and remove are idempotent', async () => {
  const pod = podConfig(d, 'stopper');
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('sleeper', ['sleep', '3600']));
  assert.equal((await containerStatus(d, c)).state, 'CONTAINER_RUNNING');
  const t0 = Date.now();
  await call('StopPodSandbox', { pod_sandbox_id: id });
  assert.ok(Date.now() - t0 < 10_000);
  const s = await containerStatus(d, c);
  assert.equal(s.state, 'CONTAINER_EXITED');
  assert.equal(s.exit_code, 137);
  const { status } = await call<{ status: { state: string } }>('PodSandboxStatus', { pod_sandbox_id: id });
  assert.equal(status.state, 'SANDBOX_NOTREADY');
  assert.equal(d.runcState(id), undefined, 'pause is gone');
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
  await assert.rejects(call('ContainerStatus', { container_id: c }), { code: 5 });
});

test('StopContainer sends SIGTERM, then SIGKILL after the timeout', async () => {
  const pod = podConfig(d, 'graceful');
  const { id } = await runPod(d, pod);
  const polite = await startContainer(d, id, pod, containerConfig('polite', ['sh', '-c', 'trap "exit 3" TERM; while true; do sleep 0.1; done']));
  const stubborn = await startContainer(d, id, pod, containerConfig('stubborn', ['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done']));
  await new Promise((r) => setTimeout(r, 300));
  await call('StopContainer', { container_id: polite, timeout: 10 });
  assert.equal((await containerStatus(d, polite)).exit_code, 3);
  const t0 = Date.now();
  await call('StopContainer', { container_id: stubborn, timeout: 1 });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 900, `waited ${elapsed} ms before SIGKILL`);
  assert.equal((await containerStatus(d, stubborn)).exit_code, 137);
  await call('StopContainer', { container_id: stubborn, timeout: 1 });
  await call('RemoveContainer', { container_id: stubborn });
  await call('RemoveContainer', { container_id: stubborn });
});

test('a stop right after the start reaches a PID 1 that waits for SIGTERM with sigwaitinfo', async () => {
  // The built-in pause image as an app container (as critest runs its pause image): it blocks
  // SIGTERM and waits for it, which /proc shows as neither caught nor blocked.
  const pod = podConfig(d, 'sigwait');
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('waiter', [], { image: { image: 'cricket.local/pause:built-in' } }));
  const t0 = Date.now();
  await call('StopContainer', { container_id: c, timeout: 30 });
  const elapsed = Date.now() - t0;
  const status = await containerStatus(d, c);
  assert.equal(status.exit_code, 0, 'SIGTERM was taken, not dropped');
  assert.ok(elapsed < 1800, `the stop waited ${elapsed} ms: the 2 s set-up window was waited out`);
  await call('RemoveContainer', { container_id: c });
});

test('a container can be removed and created again without the pod IP changing', async () => {
  const pod = podConfig(d, 'recreate');
  const { id, ip } = await runPod(d, pod);
  const first = await startContainer(d, id, pod, containerConfig('app', ['sleep', '3600']));
  await call('StopContainer', { container_id: first, timeout: 0 });
  await call('RemoveContainer', { container_id: first });
  const second = await startContainer(d, id, pod, containerConfig('app', ['sleep', '3600'], { metadata: { name: 'app', attempt: 1 } }));
  assert.notEqual(first, second);
  const { status } = await call<{ status: { network: { ip: string } } }>('PodSandboxStatus', { pod_sandbox_id: id });
  assert.equal(status.network.ip, ip);
  const { containers } = await call<{ containers: { id: string }[] }>('ListContainers', { filter: { pod_sandbox_id: id } });
  assert.deepEqual(containers.map((c) => c.id), [second]);
});

test('two pods get different IPs; removing a pod releases its IP and unpins its netns', async () => {
  const a = await runPod(d, podConfig(d, 'pod-a'));
  const b = await runPod(d, podConfig(d, 'pod-b'));
  assert.notEqual(a.ip, b.ip);
  const reserved = ipReservations(join(d.root, 'cni'));
  assert.ok(reserved.some((r) => r.endsWith(`/${a.ip}`)) && reserved.some((r) => r.endsWith(`/${b.ip}`)), reserved.join(','));
  const netnsDir = join(d.stateDir, 'netns');
  assert.ok(existsSync(join(netnsDir, a.id)));
  await call('StopPodSandbox', { pod_sandbox_id: a.id });
  await call('RemovePodSandbox', { pod_sandbox_id: a.id });
  const after = ipReservations(join(d.root, 'cni'));
  assert.ok(!after.some((r) => r.endsWith(`/${a.ip}`)), `IP ${a.ip} released`);
  assert.ok(after.some((r) => r.endsWith(`/${b.ip}`)));
  assert.ok(!readdirSync(netnsDir).includes(a.id));
  assert.ok(!existsSync(join(d.stateDir, 'sandboxes', a.id)));
  await call('StopPodSandbox', { pod_sandbox_id: b.id });
  await call('RemovePodSandbox', { pod_sandbox_id: b.id });
});

test('ListPodSandbox and ListContainers filter by id, state and labels', async () => {
  const p1 = podConfig(d, 'list-one', { labels: { tier: 'front', app: 'list' } });
  const p2 = podConfig(d, 'list-two', { labels: { tier: 'back', app: 'list' } });
  const one = await runPod(d, p1);
  const two = await runPod(d, p2);
  await call('StopPodSandbox', { pod_sandbox_id: two.id });
  const ids = async (filter: Message) => (await call<{ items: { id: string }[] }>('ListPodSandbox', { filter })).items.map((i) => i.id).sort();
  assert.deepEqual(await ids({ label_selector: { app: 'list' } }), [one.id, two.id].sort());
  assert.deepEqual(await ids({ label_selector: { app: 'list', tier: 'front' } }), [one.id]);
  assert.deepEqual(await ids({ id: two.id }), [two.id]);
  assert.deepEqual(await ids({ id: two.id.slice(0, 12) }), [two.id]);
  const ready = await ids({ state: { state: 'SANDBOX_READY' }, label_selector: { app: 'list' } });
  assert.deepEqual(ready, [one.id]);
  const c = await startContainer(d, one.id, p1, containerConfig('w', ['sleep', '3600'], { labels: { role: 'worker' } }));
  const cids = async (filter: Message) => (await call<{ containers: { id: string }[] }>('ListContainers', { filter })).containers.map((i) => i.id);
  assert.deepEqual(await cids({ label_selector: { role: 'worker' } }), [c]);
  assert.deepEqual(await cids({ state: { state: 'CONTAINER_RUNNING' }, pod_sandbox_id: one.id }), [c]);
  assert.deepEqual(await cids({ state: { state: 'CONTAINER_EXITED' }, pod_sandbox_id: one.id }), []);
  assert.deepEqual(await cids({ id: c }), [c]);
  for (const p of [one, two]) {
    await call('StopPodSandbox', { pod_sandbox_id: p.id });
    await call('RemovePodSandbox', { pod_sandbox_id: p.id });
  }
});

test('pods keep running across a restart of cricket, and exits while it was down are recorded', async () => {
  const pod = podConfig(d, 'survivor');
  const { id, ip } = await runPod(d, pod);
  const longRunner = await startContainer(d, id, pod, containerConfig('long', ['sleep', '3600']));
  const shortRunner = await startContainer(d, id, pod, containerConfig('short', ['sh', '-c', 'sleep 1; exit 4']));
  const pid = d.runcState(longRunner)!.pid;
  await d.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 1500));
  await d.restart();
  const { items } = await call<{ items: { id: string; state: string }[] }>('ListPodSandbox', { filter: { id } });
  assert.equal(items[0]?.state, 'SANDBOX_READY');
  const { status } = await call<{ status: { network: { ip: string } } }>('PodSandboxStatus', { pod_sandbox_id: id });
  assert.equal(status.network.ip, ip);
  assert.equal((await containerStatus(d, longRunner)).state, 'CONTAINER_RUNNING');
  assert.equal(d.runcState(longRunner)!.pid, pid);
  const short = await waitExited(d, shortRunner);
  assert.equal(short.exit_code, 4);
  await call('StopPodSandbox', { pod_sandbox_id: id });
  assert.equal((await containerStatus(d, longRunner)).state, 'CONTAINER_EXITED');
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('a host-network pod uses the node network namespace', async () => {
  const pod = podConfig(d, 'hostnet', { linux: { security_context: { namespace_options: { network: 'NODE' } } } });
  const { id, ip } = await runPod(d, pod);
  assert.equal(ip, '');
  const pause = d.runcState(id)!;
  const { readlinkSync } = await import('node:fs');
  assert.equal(readlinkSync(`/proc/${pause.pid}/ns/net`), readlinkSync('/proc/self/ns/net'));
  assert.ok(!existsSync(join(d.stateDir, 'netns', id)));
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('a pod without a hostname keeps the node name; a port mapping without a host port is only documentation', async () => {
  const { hostname } = await import('node:os');
  const pod = podConfig(d, 'no-hostname', { hostname: '', port_mappings: [{ protocol: 'TCP', container_port: 80 }] });
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('h', ['hostname']));
  const s = await waitExited(d, c);
  const { readFileSync } = await import('node:fs');
  assert.match(readFileSync(s.log_path, 'utf8'), new RegExp(` stdout F ${hostname()}\\n$`));
  await assert.rejects(call('RunPodSandbox', { config: podConfig(d, 'long', { hostname: 'h'.repeat(65) }) }), { code: 3 });
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('a stop right after start is not lost while the first process sets up its signal handler', async () => {
  const pod = podConfig(d, 'early-stop');
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('slow-trap', ['sh', '-c', 'sleep 0.2; trap "exit 5" TERM; while true; do sleep 0.1; done']));
  const t0 = Date.now();
  await call('StopContainer', { container_id: c, timeout: 10 });
  assert.ok(Date.now() - t0 < 5000, `stopped after ${Date.now() - t0} ms`);
  assert.equal((await containerStatus(d, c)).exit_code, 5);
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('RemoveContainer answers before its files are gone; they go soon after, and a bundle left by a crash goes at restart', async () => {
  const pod = podConfig(d, 'remover');
  const { id } = await runPod(d, pod);
  const bundle = (c: string) => join(d.stateDir, 'containers', c);
  const rw = (c: string) => join(d.root, 'rw', c);
  const c = await startContainer(d, id, pod, containerConfig('short', ['sh', '-c', 'echo data > /file']));
  await waitExited(d, c);
  assert.ok(existsSync(bundle(c)) && existsSync(rw(c)));
  await call('RemoveContainer', { container_id: c });
  await assert.rejects(containerStatus(d, c), /not found/i);
  for (let i = 0; i < 100 && (existsSync(bundle(c)) || existsSync(rw(c))); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(!existsSync(bundle(c)) && !existsSync(rw(c)), 'bundle and writable layer are removed after the answer');

  // A crash between the record's removal and the files': recovery finds a bundle without a record.
  const c2 = await startContainer(d, id, pod, containerConfig('short2', ['true']));
  await waitExited(d, c2);
  await call('StopContainer', { container_id: c2, timeout: 0 });
  await d.kill('SIGKILL');
  rmSync(join(d.root, 'containers', `${c2}.json`));
  assert.ok(existsSync(bundle(c2)) && existsSync(rw(c2)));
  // After a reboot the bundles (tmpfs) are gone, and a writable layer whose record a power loss
  // took is all that is left.
  const lost = 'ab'.repeat(32);
  mkdirSync(join(rw(lost), 'upper'), { recursive: true });
  writeFileSync(join(rw(lost), 'upper', 'data'), 'x');
  // host-local's reservation files are named by the address and hold the pod's id: the live pod
  // keeps its address, one held by a pod whose record is gone is released.
  const networkDir = join(d.root, 'cni', readdirSync(join(d.root, 'cni'))[0]!);
  const reservations = () => readdirSync(networkDir).filter((n) => isIP(n) !== 0);
  const held = reservations().find((n) => readFileSync(join(networkDir, n), 'utf8').startsWith(id));
  assert.ok(held, `the pod's address is reserved in ${networkDir}`);
  const lostAddress = held.includes(':') ? 'fd00::7777' : '10.255.255.7';
  const before = reservations().sort();
  writeFileSync(join(networkDir, lostAddress), `${'cd'.repeat(32)}\r\neth0`);
  await d.restart();
  assert.ok(!existsSync(bundle(c2)) && !existsSync(rw(c2)), 'recovery removes a bundle without a record and its writable layer');
  assert.ok(!existsSync(rw(lost)), 'recovery removes a writable layer that no record owns');
  assert.deepEqual(reservations().sort(), before, 'recovery releases the address no pod record holds, and only it');
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('StartContainer reads runc\'s exec fifo itself; runc then sees the container running, and a dead init is refused, not waited for', async () => {
  const pod = podConfig(d, 'fifo-start');
  const { id } = await runPod(d, pod);
  const runcState = (c: string) => JSON.parse(execFileSync('runc', ['--root', join(d.stateDir, 'runc'), 'state', c], { encoding: 'utf8' })) as { status: string; pid: number };
  const fifo = (c: string) => join(d.stateDir, 'runc', c, 'exec.fifo');
  const create = async (name: string) =>
    (await call<{ container_id: string }>('CreateContainer', { pod_sandbox_id: id, config: containerConfig(name, ['sleep', '3600']), sandbox_config: pod })).container_id;

  const c = await create('app');
  assert.equal(runcState(c).status, 'created');
  assert.ok(existsSync(fifo(c)));
  await call('StartContainer', { container_id: c });
  assert.equal(runcState(c).status, 'running');
  assert.ok(!existsSync(fifo(c)), 'the fifo is removed once read, as runc start removes it');
  assert.equal((await containerStatus(d, c)).state, 'CONTAINER_RUNNING');
  // The daemon's log reaches its file through a pipe and this process: it may trail the answer.
  const started = await waitFor('the start of the container in the daemon log', () =>
    readFileSync(d.logFile, 'utf8').split('\n').find((line) => line.includes(c) && line.includes('"step":"start"')),
  );
  assert.match(started, /"via":"exec-fifo"/);

  // The created container's init dies before the start: the call ends with an error of its own.
  const dead = await create('dead');
  process.kill(runcState(dead).pid, 'SIGKILL');
  await assert.rejects(d.cri.runtime.call('StartContainer', { container_id: dead }, { deadlineMs: 30_000 }), (err: { code?: number }) => err.code !== 4);
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});
