// The node's pod CIDR: parsing kubelet's value, the embedded network's ranges, template rendering
// into the conf dir and the readiness that depends on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parsePodCidrs, routesFor } from '../../src/network/pod-cidr.js';
import { defaultNetworkConfig } from '../../src/network/config.js';
import { CniNetwork } from '../../src/network/cni.js';
import { RENDERED_CONF_NAME } from '../../src/network/node-pod-cidr.js';
import { nextBridgeName } from '../../src/network/bridge-generation.js';

function fixture(t: { after: (fn: () => void) => void }) {
  const root = mkdtempSync(path.join(tmpdir(), 'cricket-podcidr-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const bin = path.join(root, 'bin');
  mkdirSync(bin);
  for (const type of ['bridge', 'portmap', 'loopback']) {
    writeFileSync(path.join(bin, type), '#!/bin/sh\n');
    chmodSync(path.join(bin, type), 0o755);
  }
  return { root, bin, conf: path.join(root, 'net.d'), cidrFile: path.join(root, 'state', 'pod-cidr'), template: path.join(root, 'net.tmpl') };
}

const TEMPLATE = `{
  "cniVersion": "1.0.0", "name": "tmplnet",
  "plugins": [{ "type": "bridge", "ipam": { "type": "host-local",
    "ranges": [{{range $i, $r := .PodCIDRRanges}}{{if $i}},{{end}}[{"subnet": "{{$r}}"}]{{end}}],
    "routes": [{{range $i, $r := .Routes}}{{if $i}},{{end}}{"dst": "{{$r}}"}{{end}}] } },
    { "type": "portmap", "capabilities": {"portMappings": true} }]
}`;

type Ipam = { ranges: Array<Array<{ subnet: string }>>; routes: Array<{ dst: string }> };
const ipamOf = (conf: { plugins: Array<Record<string, unknown>> }): Ipam => conf.plugins[0]!.ipam as Ipam;

test('kubelet pod CIDR values: IPv4, IPv6, dual-stack; bad ones refused', () => {
  assert.deepEqual(parsePodCidrs(''), []);
  assert.deepEqual(parsePodCidrs('10.244.1.0/24'), [{ cidr: '10.244.1.0/24', family: 4 }]);
  assert.deepEqual(parsePodCidrs('FD00:10:244:0001:0:0:0:0/64'), [{ cidr: 'fd00:10:244:1::/64', family: 6 }]);
  const dual = parsePodCidrs('10.244.1.0/24, fd00:10:244:1::/64');
  assert.deepEqual(dual.map((r) => r.cidr), ['10.244.1.0/24', 'fd00:10:244:1::/64']);
  assert.deepEqual(routesFor(dual), ['0.0.0.0/0', '::/0']);
  assert.deepEqual(routesFor(parsePodCidrs('fd00::/64')), ['::/0']);
  for (const bad of ['not-a-cidr', '10.244.1.0', '10.244.1.5/24', '10.0.0.0/33', '10.0.0.0/31', '10.0.0.0/4', 'fd00::1/64',
    '10.1.0.0/24,10.2.0.0/24', '10.1.0.0/24,fd00::/64,fd01::/64', '10.1.0.0/024x', '::ffff:1.2.3.4/200', 'x'.repeat(300)]) {
    assert.throws(() => parsePodCidrs(bad), { kind: 'invalid-argument' }, bad);
  }
});

test('the embedded network takes the pod CIDR(s) as its host-local ranges, gateway on the bridge, no masquerade', () => {
  const conf = defaultNetworkConfig({ bridge: 'cbr0', subnet: '10.85.0.0/16', podCidrs: ['10.244.3.0/24', 'fd00:10:244:3::/64'] });
  const bridge = conf.plugins[0]!;
  assert.equal(bridge.isGateway, true);
  assert.equal(bridge.ipMasq, false);
  assert.deepEqual(ipamOf(conf).ranges, [[{ subnet: '10.244.3.0/24' }], [{ subnet: 'fd00:10:244:3::/64' }]]);
  assert.deepEqual(ipamOf(conf).routes, [{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
  assert.deepEqual(ipamOf(defaultNetworkConfig({ subnet: '10.85.0.0/16' })).ranges, [[{ subnet: '10.85.0.0/16' }]]);
});

test('without a template, UpdateRuntimeConfig switches new pods of the embedded network to the CIDR, and it survives a restart', async (t) => {
  const f = fixture(t);
  const opts = { confDir: f.conf, binDirs: [f.bin], defaultNetwork: { subnet: '10.85.0.0/16' }, podCidrFile: f.cidrFile };
  const net = new CniNetwork(opts);
  assert.equal(net.status().ready, true);
  await net.updatePodCidr('10.244.5.0/24');
  assert.equal(net.podCidr, '10.244.5.0/24');
  assert.equal(statSync(f.cidrFile).mode & 0o777, 0o600);
  assert.equal(statSync(path.dirname(f.cidrFile)).mode & 0o777, 0o700);
  await assert.rejects(net.updatePodCidr('10.244.5.0/33'), { kind: 'invalid-argument' });
  assert.equal(net.podCidr, '10.244.5.0/24', 'a refused value changes nothing');
  // A new daemon on the same state knows the CIDR without kubelet sending it again.
  const again = new CniNetwork(opts);
  assert.equal(again.podCidr, '10.244.5.0/24');
  assert.equal(again.status().ready, true);
  assert.ok(!existsSync(path.join(f.conf, RENDERED_CONF_NAME)), 'nothing is written to the conf dir without a template');
});

test('with a template: not ready until the CIDR arrives, then rendered atomically into the conf dir and re-rendered on change', async (t) => {
  const f = fixture(t);
  writeFileSync(f.template, TEMPLATE);
  const net = new CniNetwork({ confDir: f.conf, binDirs: [f.bin], confTemplate: f.template, podCidrFile: f.cidrFile });
  const before = net.status();
  assert.equal(before.ready, false);
  assert.match(before.message, /no pod CIDR yet/);
  assert.match(before.message, /UpdateRuntimeConfig/);
  await net.updatePodCidr('10.244.9.0/24,fd00:10:244:9::/64');
  const file = path.join(f.conf, RENDERED_CONF_NAME);
  const conf = JSON.parse(readFileSync(file, 'utf8')) as { name: string; plugins: Array<Record<string, unknown>> };
  assert.equal(conf.name, 'tmplnet');
  assert.deepEqual(ipamOf(conf).ranges, [[{ subnet: '10.244.9.0/24' }], [{ subnet: 'fd00:10:244:9::/64' }]]);
  assert.deepEqual(ipamOf(conf).routes, [{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
  assert.deepEqual(net.status(), { ready: true, reason: '', message: '' });
  assert.equal(net.name, 'tmplnet');
  await net.updatePodCidr('fd00:10:244:a::/64');
  const changed = JSON.parse(readFileSync(file, 'utf8')) as { plugins: Array<Record<string, unknown>> };
  assert.deepEqual(ipamOf(changed).ranges, [[{ subnet: 'fd00:10:244:a::/64' }]]);
  assert.deepEqual(ipamOf(changed).routes, [{ dst: '::/0' }]);
  assert.deepEqual(execFileSync('ls', ['-A', f.conf], { encoding: 'utf8' }).trim().split('\n'), [RENDERED_CONF_NAME], 'no temporary file left');
});

test('a template that renders to something other than a conflist, or is not a file, is refused and writes nothing', async (t) => {
  const f = fixture(t);
  writeFileSync(f.template, '{"name": "x", "plugins": [{{.PodCIDR}}]}');
  const net = new CniNetwork({ confDir: f.conf, binDirs: [f.bin], confTemplate: f.template });
  await assert.rejects(net.updatePodCidr('10.244.1.0/24'), (err: Error) => /does not render to a valid network config/.test(err.message));
  assert.ok(!existsSync(path.join(f.conf, RENDERED_CONF_NAME)));
  assert.equal(net.status().ready, false);
  writeFileSync(f.template, '{{.Unknown}}');
  await assert.rejects(net.updatePodCidr('10.244.1.0/24'), /unknown field \.Unknown/);
  const fifo = path.join(f.root, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const viaFifo = new CniNetwork({ confDir: f.conf, binDirs: [f.bin], confTemplate: fifo });
  await assert.rejects(viaFifo.updatePodCidr('10.244.1.0/24'), /not a regular file/);
});

test('a CIDR change while pods hold addresses moves new pods to a bridge of their own; without pods the bridge is reused', async (t) => {
  assert.equal(nextBridgeName('cbr0', 'cbr0'), 'cbr0-1');
  assert.equal(nextBridgeName('cbr0', 'cbr0-1'), 'cbr0-2');
  assert.equal(nextBridgeName('averylongbridge', 'averylongbridge'), 'averylongbrid-1');
  const f = fixture(t);
  const dataDir = path.join(f.root, 'cni');
  const opts = { confDir: f.conf, binDirs: [f.bin], defaultNetwork: { bridge: 'cbr0', dataDir }, podCidrFile: f.cidrFile };
  const net = new CniNetwork(opts);
  const bridgeOf = (n: CniNetwork) => n.config!.plugins[0]!;
  await net.updatePodCidr('10.244.1.0/24');
  assert.equal(bridgeOf(net).bridge, 'cbr0', 'no pod held an address: same bridge');
  assert.equal(bridgeOf(net).forceAddress, true, 'the stale gateway of the old range may be replaced');
  // host-local's reservation file of a pod on the current range.
  mkdirSync(path.join(dataDir, 'cricket'), { recursive: true });
  writeFileSync(path.join(dataDir, 'cricket', '10.244.1.2'), 'pod0123\neth0');
  await net.updatePodCidr('10.244.3.0/24');
  assert.equal(bridgeOf(net).bridge, 'cbr0-1');
  await net.updatePodCidr('10.244.4.0/24');
  assert.equal(bridgeOf(net).bridge, 'cbr0-2');
  const again = new CniNetwork(opts);
  assert.equal(bridgeOf(again).bridge, 'cbr0-2', 'the bridge in use survives a restart');
  assert.deepEqual(ipamOf(again.config!).ranges, [[{ subnet: '10.244.4.0/24' }]]);
});
