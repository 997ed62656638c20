// Two cricket nodes on one machine (scripts/two-nodes.sh): each daemon in its own network and
// mount namespace with its own pod CIDR from UpdateRuntimeConfig, host-gw routes between them.
// Pods reach pods on the other node by their own addresses (no NAT), hostPorts are reached at
// the node's address, IPs are released on removal, and `down` leaves nothing behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { criClients, type CriClients, type Message } from '../client/cri.js';
import { BUSYBOX, ipReservations, REPO, TEST_BRIDGE, TEST_CGROUP_PARENT, TEST_PREFIX } from '../harness/cricket.js';

const run = promisify(execFile);
const SCRIPT = join(REPO, 'scripts', 'two-nodes.sh');
/** Names under the slot's own prefix, so parallel runs of the suite never meet. */
const NS_PREFIX = `${TEST_BRIDGE}n`;
const POD_CIDR_A = '10.244.1.0/24,fd00:10:244:1::/64';
const POD_CIDR_B = '10.244.2.0/24,fd00:10:244:2::/64';
const HOST_PORT = 30080;

/** busybox httpd gives CGI scripts the client's address (an IPv6 one in brackets). */
const CGI = '#!/bin/sh\nprintf \'Content-Type: text/plain\\r\\n\\r\\n%s\\n\' "$REMOTE_ADDR"';

let dir = '';
let nodesDir = '';
let settings: Record<string, string> = {};
let a: CriClients | undefined;
let b: CriClients | undefined;

function script(verb: 'up' | 'down') {
  return run('bash', [SCRIPT, verb], {
    env: { ...process.env, CRICKET_NODES_DIR: nodesDir, CRICKET_NODES_PREFIX: NS_PREFIX, CRICKET_POD_CIDR_A: POD_CIDR_A, CRICKET_POD_CIDR_B: POD_CIDR_B },
    timeout: 180_000,
    encoding: 'utf8',
  });
}

before(async () => {
  dir = mkdtempSync(TEST_PREFIX);
  nodesDir = join(dir, 'nodes');
  await script('up');
  settings = Object.fromEntries(
    readFileSync(join(nodesDir, 'nodes.env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  a = criClients(settings.SOCKET_A!, { deadlineMs: 60_000 });
  b = criClients(settings.SOCKET_B!, { deadlineMs: 60_000 });
});

after(async () => {
  a?.close();
  b?.close();
  // Idempotent: a no-op once the last test took the nodes down, a cleanup if a test failed early.
  if (nodesDir && existsSync(join(nodesDir, 'nodes.env'))) await script('down');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function podConfig(name: string, extra: Message = {}): Message {
  const uid = randomUUID();
  const logDirectory = join(dir, 'logs', uid);
  mkdirSync(logDirectory, { recursive: true });
  return {
    metadata: { name, namespace: 'default', uid, attempt: 0 },
    hostname: name,
    log_directory: logDirectory,
    linux: { cgroup_parent: `/${TEST_CGROUP_PARENT}` },
    ...extra,
  };
}

interface Pod {
  id: string;
  ips: string[];
  container: string;
}

/**
 * A pod whose container serves HTTP on 8080 with busybox httpd; /cgi-bin/peer answers with the
 * address the request came from (REMOTE_ADDR), so the test sees what the server saw.
 */
async function serverPod(node: CriClients, name: string, extra: Message = {}): Promise<Pod> {
  const config = podConfig(name, extra);
  const { pod_sandbox_id: id } = await node.runtime.call<{ pod_sandbox_id: string }>('RunPodSandbox', { config });
  const { status } = await node.runtime.call<{ status: { network: { ip: string; additional_ips: Array<{ ip: string }> } } }>('PodSandboxStatus', { pod_sandbox_id: id });
  const ips = [status.network.ip, ...status.network.additional_ips.map((x) => x.ip)];
  const serve = [
    'mkdir -p /tmp/www/cgi-bin',
    `echo ${name} > /tmp/www/index.html`,
    'printf "%s\\n" "$CGI" > /tmp/www/cgi-bin/peer',
    'chmod 755 /tmp/www/cgi-bin/peer',
    'exec httpd -f -p 8080 -h /tmp/www',
  ].join(' && ');
  const { container_id: container } = await node.runtime.call<{ container_id: string }>('CreateContainer', {
    pod_sandbox_id: id,
    config: {
      metadata: { name: 'web', attempt: 0 },
      image: { image: BUSYBOX },
      command: ['sh', '-c', serve],
      envs: [{ key: 'CGI', value: Buffer.from(CGI) }],
      log_path: 'web/0.log',
    },
    sandbox_config: config,
  });
  await node.runtime.call('StartContainer', { container_id: container });
  return { id, ips, container };
}

async function exec(node: CriClients, pod: Pod, cmd: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const res = await node.runtime.call<{ stdout: Buffer; stderr: Buffer; exit_code: number }>('ExecSync', { container_id: pod.container, cmd, timeout: 20 });
  return { stdout: res.stdout.toString('utf8'), stderr: res.stderr.toString('utf8'), exitCode: res.exit_code };
}

/** A GET from inside `client`'s pod, retried a bounded number of times while the server starts. */
async function getFrom(node: CriClients, client: Pod, url: string): Promise<string> {
  let last = '';
  for (let i = 0; i < 20; i++) {
    // busybox wget's own -T crashes it; timeout bounds the request instead.
    const res = await exec(node, client, ['timeout', '5', 'wget', '-q', '-O', '-', url]);
    // httpd listens on an IPv6 socket: an IPv4 client shows as ::ffff:a.b.c.d, the same address.
    if (res.exitCode === 0) return res.stdout.trim().replace(/^\[(.*)\]$/, '$1').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
    last = `exit ${res.exitCode}: ${res.stderr.trim()}`;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`GET ${url} from pod ${client.id} failed: ${last}`);
}

const inRange = (ip: string, prefix: string) => ip.startsWith(prefix);
const url = (ip: string, port: number, path: string) => `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}${path}`;

let podA: Pod;
let podA2: Pod;
let podB: Pod;

test('each node took its pod CIDR from UpdateRuntimeConfig and gives its pods addresses from it', async () => {
  const status = await a!.runtime.call<{ info: Record<string, string> }>('Status', { verbose: true });
  assert.equal(JSON.parse(status.info.config!).podCidr, POD_CIDR_A);
  podA = await serverPod(a!, 'pod-a');
  podA2 = await serverPod(a!, 'pod-a2');
  podB = await serverPod(b!, 'pod-b', { port_mappings: [{ protocol: 'TCP', container_port: 8080, host_port: HOST_PORT, host_ip: '' }] });
  for (const pod of [podA, podA2]) {
    assert.ok(inRange(pod.ips[0]!, '10.244.1.') && inRange(pod.ips[1]!, 'fd00:10:244:1:'), `pod on A: ${pod.ips.join(' ')}`);
  }
  assert.ok(inRange(podB.ips[0]!, '10.244.2.') && inRange(podB.ips[1]!, 'fd00:10:244:2:'), `pod on B: ${podB.ips.join(' ')}`);
});

test('a pod on node A reaches a pod on node B by its IP, and B sees the client pod\'s own address', async () => {
  assert.equal(await getFrom(a!, podA, url(podB.ips[0]!, 8080, '/')), 'pod-b');
  assert.equal(await getFrom(a!, podA, url(podB.ips[0]!, 8080, '/cgi-bin/peer')), podA.ips[0]);
  // Both ways, and over IPv6 too.
  assert.equal(await getFrom(b!, podB, url(podA.ips[0]!, 8080, '/cgi-bin/peer')), podB.ips[0]);
  assert.equal(await getFrom(a!, podA, url(podB.ips[1]!, 8080, '/cgi-bin/peer')), podA.ips[1]);
});

test('pods on one node reach each other', async () => {
  assert.equal(await getFrom(a!, podA, url(podA2.ips[0]!, 8080, '/')), 'pod-a2');
  assert.equal(await getFrom(a!, podA, url(podA2.ips[0]!, 8080, '/cgi-bin/peer')), podA.ips[0]);
});

test('a hostPort on node B is reached from node A at node B\'s address', async () => {
  assert.equal(await getFrom(a!, podA, url(settings.ADDR_B!, HOST_PORT, '/')), 'pod-b');
  assert.equal(await getFrom(a!, podA, url(settings.ADDR_B!, HOST_PORT, '/cgi-bin/peer')), podA.ips[0]);
});

test('after a pod CIDR change new pods use the new range; older pods keep working and are torn down with their own config', async () => {
  await a!.runtime.call('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: '10.244.3.0/24' } } });
  const late = await serverPod(a!, 'pod-a3');
  assert.ok(inRange(late.ips[0]!, '10.244.3.'), `new pod: ${late.ips.join(' ')}`);
  assert.equal(late.ips.length, 1, 'the new CIDR is IPv4 only');
  assert.equal(await getFrom(a!, late, url(podA2.ips[0]!, 8080, '/cgi-bin/peer')), late.ips[0]);
  assert.equal(await getFrom(a!, podA2, url(late.ips[0]!, 8080, '/')), 'pod-a3');
  // podA2 came from the old ranges (IPv4 and IPv6): its DEL must free both.
  await a!.runtime.call('StopPodSandbox', { pod_sandbox_id: podA2.id });
  await a!.runtime.call('RemovePodSandbox', { pod_sandbox_id: podA2.id });
  const left = ipReservations(join(settings.ROOT_A!, 'cni'));
  for (const ip of podA2.ips) assert.ok(!left.some((r) => r.endsWith(`/${ip}`)), `${ip} released; left: ${left.join(' ')}`);
  assert.ok(left.some((r) => r.endsWith(`/${late.ips[0]}`)), 'the new pod keeps its address');
  await a!.runtime.call('StopPodSandbox', { pod_sandbox_id: late.id });
  await a!.runtime.call('RemovePodSandbox', { pod_sandbox_id: late.id });
});

test('removing the pods on both nodes releases their IPs', async () => {
  for (const node of [a!, b!]) {
    const { items } = await node.runtime.call<{ items: Array<{ id: string }> }>('ListPodSandbox', {});
    assert.ok(items.length > 0);
    for (const pod of items) {
      await node.runtime.call('StopPodSandbox', { pod_sandbox_id: pod.id });
      await node.runtime.call('RemovePodSandbox', { pod_sandbox_id: pod.id });
    }
  }
  assert.deepEqual(ipReservations(join(settings.ROOT_A!, 'cni')), []);
  assert.deepEqual(ipReservations(join(settings.ROOT_B!, 'cni')), []);
});

test('down leaves no namespace, link, route, daemon or state', async () => {
  const pids = [settings.SOCKET_A!, settings.SOCKET_B!].map((s) => Number(readFileSync(join(s, '..', 'daemon.pid'), 'utf8')));
  await script('down');
  const namespaces = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(NS_PREFIX)) : [];
  assert.deepEqual(namespaces, []);
  for (const pid of pids) assert.ok(!existsSync(`/proc/${pid}`) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(nodesDir), `daemon ${pid} is gone`);
  const left: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(nodesDir)) left.push(pid);
    } catch {
      // ended while we looked
    }
  }
  assert.deepEqual(left, [], 'processes of the nodes');
  // The link only ever existed inside the node namespaces; the host has no trace of it.
  const { stdout: links } = await run('ip', ['-o', 'link', 'show']);
  assert.ok(!/\bnodelink\b/.test(links), 'no node link in the host namespace');
  const { stdout: routes } = await run('ip', ['route', 'show']);
  assert.ok(!routes.includes('10.244.'), `no pod route on the host: ${routes}`);
  assert.ok(!existsSync(join(nodesDir, 'nodes.env')) && !existsSync(join(nodesDir, 'a')), 'node state removed');
});
