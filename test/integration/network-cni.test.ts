// Real CNI plugins (Debian's containernetworking-plugins) on real pinned network namespaces:
// two pods on a test bridge, reachable from the host only at their own IPs, a hostPort through
// portmap, and a teardown that leaves no IP reservation, iptables rule or mount behind.
// Needs root. Traffic goes only to the two pod IPs and the test bridge's own address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CniNetwork } from '../../src/network/cni.js';
import { createPinnedNetns, isNetnsMounted, removePinnedNetns } from '../../src/network/netns.js';
import type { PodNetworkRequest, PodNetworkResult } from '../../src/network/types.js';

const NETWORK = 'cricket-nettest';
const BRIDGE = 'ckntest0';
const GATEWAY = '10.89.0.1';
const HOST_PORT = 41080;
const POD_PORT = 8080;

const skip =
  process.getuid?.() !== 0 ? 'needs root' : !existsSync('/usr/lib/cni/bridge') ? 'containernetworking-plugins not installed' : false;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

const linkExists = (name: string): boolean => spawnSync('ip', ['link', 'show', name], { stdio: 'ignore' }).status === 0;
const iptablesDump = (): string => sh('iptables-save', []);
const mountedAt = (p: string): boolean => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === p);

/** A TCP server inside the netns answering each connection with `greeting`. */
async function listenIn(netnsPath: string, greeting: string): Promise<ChildProcess> {
  const script = `
    const srv = require('net').createServer((c) => c.end(${JSON.stringify(greeting)}));
    srv.listen(${POD_PORT}, '0.0.0.0', () => console.log('ready'));
    setTimeout(() => process.exit(0), 60000);`;
  const child = spawn('nsenter', [`--net=${netnsPath}`, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('listener in netns did not start')), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`listener exited with ${code}`));
    });
  });
  return child;
}

/** Connects to host:port and returns what the server sends, within a few seconds. */
function fetchGreeting(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let data = '';
    sock.setTimeout(5000, () => sock.destroy(new Error(`timeout connecting to ${host}:${port}`)));
    sock.on('data', (d) => (data += d.toString()));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
}

test('two pods on a CNI bridge: set up, reach, hostPort, tear down without leftovers', { skip, timeout: 120_000 }, async (t) => {
  // A bridge left by an aborted earlier run of this very test.
  if (linkExists(BRIDGE)) sh('ip', ['link', 'del', BRIDGE]);

  const dir = mkdtempSync(path.join(tmpdir(), 'cricket-nettest-'));
  const confDir = path.join(dir, 'net.d');
  const ipamDir = path.join(dir, 'ipam');
  mkdirSync(confDir);
  writeFileSync(
    path.join(confDir, '10-nettest.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: NETWORK,
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.89.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'loopback' },
      ],
    }),
  );

  const suffix = randomBytes(6).toString('hex');
  const pods: PodNetworkRequest[] = ['a', 'b'].map((n) => ({
    podId: `nettest${suffix}${n}`,
    podName: `nettest-${n}`,
    podNamespace: 'cricket-test',
    podUid: `uid-${suffix}-${n}`,
    netnsPath: path.join(dir, 'netns', `nettest${suffix}${n}`),
    portMappings: n === 'a' ? [{ hostPort: HOST_PORT, containerPort: POD_PORT, protocol: 'tcp', hostIP: '' }] : [],
  }));
  const [podA, podB] = pods as [PodNetworkRequest, PodNetworkRequest];
  const listeners: ChildProcess[] = [];
  const results = new Map<string, PodNetworkResult>();
  const network = new CniNetwork({ confDir, defaultNetwork: false });

  t.after(async () => {
    for (const l of listeners) l.kill('SIGKILL');
    for (const pod of pods) {
      const saved = results.get(pod.podId);
      if (saved) await network.tearDown(pod, saved.result, saved.config).catch(() => undefined);
      await removePinnedNetns(pod.netnsPath).catch(() => undefined);
    }
    if (linkExists(BRIDGE)) sh('ip', ['link', 'del', BRIDGE]);
    rmSync(dir, { recursive: true, force: true });
  });

  assert.deepEqual(network.status(), { ready: true, reason: '', message: '' });
  assert.equal(network.name, NETWORK);

  let start = performance.now();
  await Promise.all(pods.map((p) => createPinnedNetns(p.netnsPath)));
  const netnsMs = performance.now() - start;

  // Both at once, as kubelet does: the first ADDs race to create the bridge.
  start = performance.now();
  const [resA, resB] = await Promise.all(pods.map((p) => network.setUp(p)));
  const addMs = performance.now() - start;
  results.set(podA.podId, resA!);
  results.set(podB.podId, resB!);
  const ipA = resA!.ips[0]!;
  const ipB = resB!.ips[0]!;
  assert.equal(resA!.ips.length, 1);
  assert.equal(resB!.ips.length, 1);
  assert.notEqual(ipA, ipB);
  for (const ip of [ipA, ipB]) assert.match(ip, /^10\.89\.0\.\d+$/);
  assert.ok(linkExists(BRIDGE));

  // The address is on eth0 inside each pod's netns.
  for (const [pod, ip] of [[podA, ipA], [podB, ipB]] as const) {
    const out = sh('nsenter', [`--net=${pod.netnsPath}`, 'ip', '-4', 'addr', 'show', 'eth0']);
    assert.ok(out.includes(`inet ${ip}/24`), out);
    // The IPAM reservation is a file named after the IP.
    assert.ok(existsSync(path.join(ipamDir, NETWORK, ip)));
  }

  // Each pod answers at its own IP (and only pod IPs are contacted).
  listeners.push(await listenIn(podA.netnsPath, `hello from ${podA.podId}`));
  listeners.push(await listenIn(podB.netnsPath, `hello from ${podB.podId}`));
  assert.equal(await fetchGreeting(ipA, POD_PORT), `hello from ${podA.podId}`);
  assert.equal(await fetchGreeting(ipB, POD_PORT), `hello from ${podB.podId}`);

  // hostPort: portmap's DNAT rule for pod A, and it works through the bridge's own address.
  const natBefore = iptablesDump();
  assert.ok(natBefore.includes(podA.podId), 'portmap rule for pod A');
  assert.ok(natBefore.split('\n').some((l) => l.includes('DNAT') && l.includes(`${ipA}:${POD_PORT}`)));
  assert.equal(await fetchGreeting(GATEWAY, HOST_PORT), `hello from ${podA.podId}`);
  assert.equal(natBefore.includes(podB.podId), false, 'no portmap rule for pod B');

  for (const l of listeners) l.kill('SIGKILL');

  // Pod A: normal teardown. Pod B: its netns is gone first (as after a crash): DEL must
  // still release the IP.
  start = performance.now();
  await network.tearDown(podA, resA!.result, resA!.config);
  const delMs = performance.now() - start;
  await removePinnedNetns(podA.netnsPath);
  await removePinnedNetns(podB.netnsPath);
  await network.tearDown(podB, resB!.result, resB!.config);
  results.clear();
  // A second DEL is not an error.
  await network.tearDown(podA, resA!.result, resA!.config);

  const reservations = readdirSync(path.join(ipamDir, NETWORK));
  assert.ok(!reservations.includes(ipA) && !reservations.includes(ipB), `left: ${reservations.join(' ')}`);
  const after = iptablesDump();
  for (const pod of pods) assert.equal(after.includes(pod.podId), false, `iptables rules left for ${pod.podId}`);
  for (const pod of pods) {
    assert.equal(existsSync(pod.netnsPath), false);
    assert.equal(mountedAt(pod.netnsPath), false);
    assert.equal(await isNetnsMounted(pod.netnsPath), false);
  }
  const ports = sh('ip', ['-o', 'link', 'show', 'master', BRIDGE]).trim();
  assert.equal(ports, '', `veths still on the bridge: ${ports}`);

  sh('ip', ['link', 'del', BRIDGE]);
  assert.equal(linkExists(BRIDGE), false);
  t.diagnostic(
    `netns create (2 in parallel) ${netnsMs.toFixed(1)} ms; CNI ADD (2 in parallel, one with a hostPort) ${addMs.toFixed(1)} ms; CNI DEL with hostPort ${delMs.toFixed(1)} ms`,
  );
});

test('default chain (bridge, portmap, loopback): ADD and DEL timings', { skip, timeout: 120_000 }, async (t) => {
  const bridge = 'ckntest1';
  if (linkExists(bridge)) sh('ip', ['link', 'del', bridge]);
  const dir = mkdtempSync(path.join(tmpdir(), 'cricket-nettest-'));
  // The embedded default network, pointed at a test bridge, subnet and IPAM dir.
  const network = new CniNetwork({
    confDir: path.join(dir, 'empty'),
    defaultNetwork: { name: 'cricket-nettest-default', bridge, subnet: '10.89.1.0/24', dataDir: path.join(dir, 'ipam') },
  });
  const pod = (i: number): PodNetworkRequest => ({
    podId: `nettestdef${i}`,
    podName: `p${i}`,
    podNamespace: 'cricket-test',
    podUid: `u${i}`,
    netnsPath: path.join(dir, 'netns', `p${i}`),
    portMappings: [],
  });
  t.after(async () => {
    for (let i = 0; i < 5; i++) await removePinnedNetns(pod(i).netnsPath).catch(() => undefined);
    if (linkExists(bridge)) sh('ip', ['link', 'del', bridge]);
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal(network.name, 'cricket-nettest-default');
  const add: number[] = [];
  const del: number[] = [];
  const mk: number[] = [];
  const rm: number[] = [];
  for (let i = 0; i < 5; i++) {
    const p = pod(i);
    let s = performance.now();
    await createPinnedNetns(p.netnsPath);
    mk.push(performance.now() - s);
    s = performance.now();
    const res = await network.setUp(p);
    add.push(performance.now() - s);
    assert.match(res.ips[0] ?? '', /^10\.89\.1\.\d+$/);
    s = performance.now();
    await network.tearDown(p, res.result, res.config);
    del.push(performance.now() - s);
    s = performance.now();
    await removePinnedNetns(p.netnsPath);
    rm.push(performance.now() - s);
  }
  assert.deepEqual(readdirSync(path.join(dir, 'ipam', 'cricket-nettest-default')).filter((f) => f.startsWith('10.')), []);
  // The first ADD creates the bridge; report the steady state too.
  const fmt = (xs: number[]) => `first ${xs[0]!.toFixed(1)} ms, then median ${median(xs.slice(1)).toFixed(1)} ms`;
  t.diagnostic(`netns create: ${fmt(mk)}; remove: ${fmt(rm)}`);
  t.diagnostic(`CNI ADD: ${fmt(add)}; CNI DEL: ${fmt(del)}`);
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
