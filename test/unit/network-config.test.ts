// CNI network configuration: file choice, validation, the embedded default, cheap reloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  defaultNetworkConfig,
  DEFAULT_NETWORK_SOURCE,
  findPluginBinary,
  listConfFiles,
  NetworkConfigError,
  NetworkConfigSource,
  parseNetworkConfig,
} from '../../src/network/config.js';
import { CniNetwork, compareVersions, NETWORK_NOT_READY } from '../../src/network/cni.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cricket-netconf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A bin dir holding (empty, executable) plugins of the given types. */
function binDir(root: string, types: string[]): string {
  const dir = path.join(root, 'bin');
  mkdirSync(dir, { recursive: true });
  for (const type of types) {
    writeFileSync(path.join(dir, type), '#!/bin/sh\n');
    chmodSync(path.join(dir, type), 0o755);
  }
  return dir;
}

const conflist = (name: string, types = ['bridge']): string =>
  JSON.stringify({ cniVersion: '1.0.0', name, plugins: types.map((type) => ({ type })) });

test('a .conflist is taken as is', () => {
  const c = parseNetworkConfig(conflist('net1', ['bridge', 'portmap']), '/x/10-a.conflist');
  assert.equal(c.name, 'net1');
  assert.equal(c.cniVersion, '1.0.0');
  assert.deepEqual(c.plugins.map((p) => p.type), ['bridge', 'portmap']);
});

test('a single-plugin .conf is wrapped into a list', () => {
  const text = JSON.stringify({ cniVersion: '0.4.0', name: 'single', type: 'bridge', bridge: 'br9', ipam: { type: 'host-local' } });
  const c = parseNetworkConfig(text, '/x/10-single.conf');
  assert.equal(c.name, 'single');
  assert.equal(c.cniVersion, '0.4.0');
  assert.equal(c.plugins.length, 1);
  assert.deepEqual(c.plugins[0], { type: 'bridge', bridge: 'br9', ipam: { type: 'host-local' } });
});

test('invalid configurations are rejected with the file and the reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['{not json', /invalid JSON/],
    ['[]', /not a JSON object/],
    [JSON.stringify({ cniVersion: '1.0.0', plugins: [{ type: 'bridge' }] }), /"name"/],
    [JSON.stringify({ name: 'n', plugins: [{ type: 'bridge' }] }), /"cniVersion"/],
    [JSON.stringify({ name: 'n', cniVersion: 'one', plugins: [{ type: 'bridge' }] }), /"cniVersion"/],
    [JSON.stringify({ name: 'n', cniVersion: '1.0.0', plugins: [] }), /no plugins/],
    [JSON.stringify({ name: 'n', cniVersion: '1.0.0', plugins: [{}] }), /plugin 0 .*"type"/],
    [JSON.stringify({ name: 'n', cniVersion: '1.0.0', plugins: [{ type: '../../bin/sh' }] }), /"type"/],
    [JSON.stringify({ name: 'bad/name', cniVersion: '1.0.0', plugins: [{ type: 'bridge' }] }), /"name"/],
    [JSON.stringify({ name: 'n', cniVersion: '1.0.0', plugins: [{ type: 'x', capabilities: [] }] }), /capabilities/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseNetworkConfig(text, '/etc/cni/net.d/10-x.conflist'),
      (err: unknown) => err instanceof NetworkConfigError && re.test(err.message) && err.message.includes('10-x.conflist'),
      text,
    );
  }
  // A .conflist must have plugins even if it looks like a single plugin.
  assert.throws(() => parseNetworkConfig(JSON.stringify({ name: 'n', cniVersion: '1.0.0', type: 'bridge' }), 'a.conflist'));
});

test('conf files are listed in lexical order, only known extensions', (t) => {
  const dir = tempDir(t);
  for (const n of ['20-b.conf', '10-a.conflist', '99-z.json', 'README', '05-c.conf.bak', '.hidden.conf']) {
    writeFileSync(path.join(dir, n), '{}');
  }
  assert.deepEqual(listConfFiles(dir).map((f) => path.basename(f)), ['10-a.conflist', '20-b.conf', '99-z.json']);
  assert.deepEqual(listConfFiles(path.join(dir, 'missing')), []);
});

test('embedded default network: bridge, portmap, loopback with overridable knobs', () => {
  const d = defaultNetworkConfig();
  assert.equal(d.name, 'cricket');
  assert.equal(d.cniVersion, '1.0.0');
  assert.deepEqual(d.plugins.map((p) => p.type), ['bridge', 'portmap', 'loopback']);
  const bridge = d.plugins[0]!;
  assert.equal(bridge.bridge, 'cricket0');
  assert.equal(bridge.isGateway, true);
  assert.equal(bridge.ipMasq, false);
  assert.equal(bridge.hairpinMode, true);
  assert.deepEqual(bridge.ipam, {
    type: 'host-local',
    ranges: [[{ subnet: '10.85.0.0/16' }]],
    routes: [{ dst: '0.0.0.0/0' }],
  });
  assert.deepEqual(d.plugins[1]!.capabilities, { portMappings: true });

  const o = defaultNetworkConfig({ name: 'other', bridge: 'br1', subnet: '10.99.0.0/24', dataDir: '/var/lib/x/ipam' });
  assert.equal(o.name, 'other');
  assert.equal(o.plugins[0]!.bridge, 'br1');
  assert.deepEqual(o.plugins[0]!.ipam, {
    type: 'host-local',
    ranges: [[{ subnet: '10.99.0.0/24' }]],
    routes: [{ dst: '0.0.0.0/0' }],
    dataDir: '/var/lib/x/ipam',
  });
});

test('plugin binaries are found in the first bin dir that has them', (t) => {
  const root = tempDir(t);
  const a = binDir(path.join(root, 'a'), ['bridge']);
  const b = binDir(path.join(root, 'b'), ['bridge', 'portmap']);
  writeFileSync(path.join(a, 'noexec'), '');
  assert.equal(findPluginBinary('bridge', [a, b]), path.join(a, 'bridge'));
  assert.equal(findPluginBinary('portmap', [a, b]), path.join(b, 'portmap'));
  assert.equal(findPluginBinary('noexec', [a]), undefined);
  assert.equal(findPluginBinary('missing', [a, b]), undefined);
});

test('empty conf dir: the default network, with the dataDir the caller chose', (t) => {
  const root = tempDir(t);
  const bin = binDir(root, ['bridge', 'portmap', 'loopback']);
  const src = new NetworkConfigSource({ confDir: path.join(root, 'conf'), binDirs: [bin], defaultNetwork: { dataDir: '/d' } });
  const s = src.current();
  assert.ok(s.ok);
  assert.equal(s.network.source, DEFAULT_NETWORK_SOURCE);
  assert.equal(s.network.config.name, 'cricket');
  assert.equal((s.network.config.plugins[0]!.ipam as { dataDir?: string }).dataDir, '/d');
  assert.equal(s.network.binaries.get('portmap'), path.join(bin, 'portmap'));
});

test('a config dropped in later is picked up; the first file in lexical order wins', (t) => {
  const root = tempDir(t);
  const bin = binDir(root, ['bridge', 'portmap', 'loopback', 'ptp']);
  const conf = path.join(root, 'conf');
  mkdirSync(conf);
  const net = new CniNetwork({ confDir: conf, binDirs: [bin] });
  assert.equal(net.name, 'cricket');
  writeFileSync(path.join(conf, '20-later.conflist'), conflist('later', ['ptp']));
  assert.equal(net.name, 'later');
  writeFileSync(path.join(conf, '10-first.conflist'), conflist('first'));
  assert.equal(net.name, 'first');
  // In-place edit of the chosen file.
  writeFileSync(path.join(conf, '10-first.conflist'), conflist('first-edited'));
  assert.equal(net.name, 'first-edited');
  rmSync(path.join(conf, '10-first.conflist'));
  assert.equal(net.name, 'later');
  assert.equal(net.status().ready, true);
});

test('invalid files are skipped in favour of a valid one; all invalid means not ready', (t) => {
  const root = tempDir(t);
  const bin = binDir(root, ['bridge']);
  const conf = path.join(root, 'conf');
  mkdirSync(conf);
  writeFileSync(path.join(conf, '05-broken.conflist'), '{');
  const net = new CniNetwork({ confDir: conf, binDirs: [bin] });
  const st = net.status();
  assert.equal(st.ready, false);
  assert.equal(st.reason, NETWORK_NOT_READY);
  assert.match(st.message, /05-broken\.conflist: invalid JSON/);
  writeFileSync(path.join(conf, '10-good.conflist'), conflist('good'));
  assert.deepEqual(net.status(), { ready: true, reason: '', message: '' });
  assert.equal(net.name, 'good');
});

test('a missing plugin binary makes the network not ready until it is installed', (t) => {
  const root = tempDir(t);
  const bin = binDir(root, ['bridge']);
  const conf = path.join(root, 'conf');
  mkdirSync(conf);
  writeFileSync(path.join(conf, '10-net.conflist'), conflist('needs-portmap', ['bridge', 'portmap']));
  const net = new CniNetwork({ confDir: conf, binDirs: [bin] });
  const st = net.status();
  assert.equal(st.ready, false);
  assert.equal(st.reason, NETWORK_NOT_READY);
  assert.match(st.message, /portmap not found/);
  assert.equal(net.name, 'needs-portmap');
  binDir(root, ['portmap']);
  assert.equal(net.status().ready, true);
});

test('without the default network an empty conf dir is not ready', (t) => {
  const root = tempDir(t);
  const net = new CniNetwork({ confDir: path.join(root, 'none'), binDirs: [binDir(root, [])], defaultNetwork: false });
  const st = net.status();
  assert.equal(st.ready, false);
  assert.equal(st.reason, NETWORK_NOT_READY);
  assert.match(st.message, /cni config uninitialized/);
  assert.equal(net.name, '');
});

test('status is cheap once loaded', (t) => {
  const root = tempDir(t);
  const bin = binDir(root, ['bridge', 'portmap', 'loopback']);
  const conf = path.join(root, 'conf');
  mkdirSync(conf);
  writeFileSync(path.join(conf, '10-net.conflist'), conflist('n', ['bridge', 'portmap', 'loopback']));
  // Files changed within the last second are re-read every time (coarse mtimes); age them.
  const old = new Date(Date.now() - 60_000);
  utimesSync(path.join(conf, '10-net.conflist'), old, old);
  utimesSync(conf, old, old);
  const net = new CniNetwork({ confDir: conf, binDirs: [bin] });
  assert.equal(net.status().ready, true);
  const start = process.hrtime.bigint();
  for (let i = 0; i < 1000; i++) net.status();
  const perCallUs = Number(process.hrtime.bigint() - start) / 1000 / 1000;
  t.diagnostic(`status(): ${perCallUs.toFixed(1)} µs per call`);
  assert.ok(perCallUs < 100, `status() took ${perCallUs} µs`);
  writeFileSync(path.join(conf, '10-net.conflist'), conflist('changed', ['bridge']));
  assert.equal(net.name, 'changed');
});

test('versions compare numerically', () => {
  assert.ok(compareVersions('0.4.0', '0.3.1') > 0);
  assert.ok(compareVersions('1.0.0', '0.4.0') > 0);
  assert.ok(compareVersions('0.10.0', '0.9.0') > 0);
  assert.equal(compareVersions('1.0.0', '1.0'), 0);
  assert.ok(compareVersions('0.2.0', '0.4.0') < 0);
});
