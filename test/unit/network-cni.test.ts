// Plugin calls and the plugin chain (ADD in order, DEL in reverse, undo on failure) run against
// scriptable fake plugins: no root, no real network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CricketError } from '../../src/errors.js';
import { CniNetwork } from '../../src/network/cni.js';
import { CniPluginError, invokePlugin, type InvokeParams } from '../../src/network/plugin.js';
import type { PodNetworkRequest } from '../../src/network/types.js';

// Logs each call (command, CNI_* env, stdin) and behaves as its config's "fake" block says.
const FAKE_PLUGIN = `#!/usr/bin/env node
const fs = require('fs');
const path = require('path');
const input = fs.readFileSync(0, 'utf8');
const conf = JSON.parse(input);
const cmd = process.env.CNI_COMMAND;
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('CNI_')));
fs.appendFileSync(process.env.FAKE_CNI_LOG, JSON.stringify({ plugin: path.basename(process.argv[1]), cmd, env, conf }) + '\\n');
const f = conf.fake || {};
const on = (when) => !when || when === cmd;
if (f.stderr && on(f.stderrOn)) process.stderr.write(f.stderr);
if (f.sleepMs && on(f.sleepOn)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, f.sleepMs);
if (f.fail && on(f.failOn)) { process.stdout.write(JSON.stringify({ cniVersion: conf.cniVersion, ...f.fail })); process.exit(1); }
if (f.crash && on(f.crashOn)) { process.stderr.write('panic: something broke\\n'); process.exit(2); }
if (f.garbage && cmd === 'ADD') { process.stdout.write('not json at all'); process.exit(0); }
if (f.endless && cmd === 'ADD') { const line = Buffer.alloc(65536, 'x'); for (;;) fs.writeSync(1, line); }
if (cmd === 'ADD') process.stdout.write(JSON.stringify(f.result || conf.prevResult || { cniVersion: conf.cniVersion }));
`;

interface FakeCall {
  plugin: string;
  cmd: string;
  env: Record<string, string>;
  conf: Record<string, unknown>;
}

interface Fixture {
  dir: string;
  bin: string;
  conf: string;
  calls: () => FakeCall[];
  clearCalls: () => void;
  writeNetwork: (plugins: Array<Record<string, unknown>>, extra?: Record<string, unknown>) => void;
}

function fixture(t: { after: (fn: () => void) => void }): Fixture {
  const dir = mkdtempSync(path.join(tmpdir(), 'cricket-netchain-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'bin');
  const conf = path.join(dir, 'conf');
  mkdirSync(bin);
  mkdirSync(conf);
  for (const type of ['fake', 'fake-a', 'fake-b', 'fake-c']) {
    writeFileSync(path.join(bin, type), FAKE_PLUGIN);
    chmodSync(path.join(bin, type), 0o755);
  }
  const log = path.join(dir, 'calls.log');
  // The fake finds its log through the environment cricket passes on to plugins.
  process.env.FAKE_CNI_LOG = log;
  return {
    dir,
    bin,
    conf,
    calls: () => {
      try {
        return readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as FakeCall);
      } catch {
        return [];
      }
    },
    clearCalls: () => rmSync(log, { force: true }),
    writeNetwork: (plugins, extra = {}) =>
      writeFileSync(path.join(conf, '10-test.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'chain', plugins, ...extra })),
  };
}

const podResult = (netns: string) => ({
  cniVersion: '1.0.0',
  interfaces: [{ name: 'veth0' }, { name: 'eth0', sandbox: netns }],
  ips: [
    { address: '10.77.0.1/24', interface: 0 },
    { address: '10.77.0.9/24', gateway: '10.77.0.1', interface: 1 },
  ],
});

// /proc/self/ns/net is a namespace file: good enough for fakes, needs no root.
const NETNS = '/proc/self/ns/net';

function request(over: Partial<PodNetworkRequest> = {}): PodNetworkRequest {
  return {
    podId: 'pod0123',
    podName: 'web',
    podNamespace: 'shop',
    podUid: 'uid-9',
    netnsPath: NETNS,
    portMappings: [],
    ...over,
  };
}

function params(f: Fixture, fake: Record<string, unknown>, over: Partial<InvokeParams> = {}): InvokeParams {
  return {
    command: 'ADD',
    containerId: 'pod1',
    netns: NETNS,
    ifName: 'eth0',
    cniArgs: 'IgnoreUnknown=1',
    binDirs: [f.bin],
    network: 'testnet',
    pluginType: 'fake',
    pluginPath: path.join(f.bin, 'fake'),
    stdin: { type: 'fake', name: 'testnet', cniVersion: '1.0.0', fake },
    timeoutMs: 10_000,
    ...over,
  };
}

test('plugin call: the result is parsed from stdout; DEL prints nothing', async (t) => {
  const f = fixture(t);
  const result = { cniVersion: '1.0.0', ips: [{ address: '10.9.0.2/24' }] };
  assert.deepEqual(await invokePlugin(params(f, { result })), result);
  assert.equal(await invokePlugin(params(f, {}, { command: 'DEL' })), undefined);
});

test('plugin call: a failure carries code, msg, details, stderr and context', async (t) => {
  const f = fixture(t);
  const err = await invokePlugin(params(f, { fail: { code: 7, msg: 'bad ipam', details: 'subnet missing' }, stderr: 'log line from plugin\n' })).then(
    () => assert.fail('should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof CniPluginError);
  assert.equal(err.kind, 'internal');
  assert.equal(err.command, 'ADD');
  assert.equal(err.plugin, 'fake');
  assert.equal(err.containerId, 'pod1');
  assert.deepEqual(err.cniError, { code: 7, msg: 'bad ipam', details: 'subnet missing' });
  assert.equal(err.stderr, 'log line from plugin');
  assert.equal(
    err.message,
    'CNI ADD of plugin fake (network testnet, pod pod1) failed: exit code 1; bad ipam (code 7: invalid network config): subnet missing; stderr: log line from plugin',
  );
});

test('plugin call: a crash without an error object still reports stderr', async (t) => {
  const f = fixture(t);
  await assert.rejects(invokePlugin(params(f, { crash: true })), (e: unknown) =>
    e instanceof CniPluginError && e.cniError === undefined && /exit code 2; stderr: panic: something broke/.test(e.message));
});

test('plugin call: a hanging plugin is killed at its timeout', async (t) => {
  const f = fixture(t);
  const started = Date.now();
  await assert.rejects(invokePlugin(params(f, { sleepMs: 10_000 }, { timeoutMs: 400 })), (e: unknown) =>
    e instanceof CniPluginError && e.kind === 'deadline-exceeded' && e.timedOut && /timed out after 400 ms/.test(e.message));
  assert.ok(Date.now() - started < 5000);
});

test('plugin call: a plugin that never stops writing is killed at the output bound', async (t) => {
  const f = fixture(t);
  const started = Date.now();
  await assert.rejects(invokePlugin(params(f, { endless: true }, { timeoutMs: 60_000 })), (e: unknown) =>
    e instanceof CniPluginError && !e.timedOut && /wrote more than 8 MiB to stdout and was killed/.test(e.message));
  assert.ok(Date.now() - started < 30_000);
});

test('plugin call: non-JSON output of a successful ADD is an error', async (t) => {
  const f = fixture(t);
  await assert.rejects(invokePlugin(params(f, { garbage: true })), /not JSON: not json at all/);
});

test('plugin call: a missing executable is reported with plugin and pod', async (t) => {
  const f = fixture(t);
  await assert.rejects(invokePlugin(params(f, {}, { pluginPath: '/nonexistent/fake' })), (e: unknown) =>
    e instanceof CniPluginError && /CNI ADD of plugin fake \(network testnet, pod pod1\) failed/.test(e.message));
});

test('ADD runs the chain in order, each plugin given the previous result', async (t) => {
  const f = fixture(t);
  process.env.CNI_IFNAME = 'must-not-leak';
  t.after(() => delete process.env.CNI_IFNAME);
  f.writeNetwork([
    { type: 'fake-a', fake: { result: podResult(NETNS) } },
    { type: 'fake-b', capabilities: { portMappings: true } },
    { type: 'fake-c' },
  ]);
  const net = new CniNetwork({ confDir: f.conf, binDirs: ['/nonexistent-bin', f.bin] });
  const portMappings = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const, hostIP: '' }];
  const res = await net.setUp(request({ portMappings }));
  assert.deepEqual(res.ips, ['10.77.0.9']);
  assert.deepEqual(res.result, podResult(NETNS));
  assert.equal(res.networkName, 'chain');
  assert.equal(JSON.parse(res.config ?? '{}').name, 'chain');

  const calls = f.calls();
  assert.deepEqual(calls.map((c) => `${c.plugin} ${c.cmd}`), ['fake-a ADD', 'fake-b ADD', 'fake-c ADD']);
  assert.deepEqual(calls[0]!.env, {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'pod0123',
    CNI_NETNS: NETNS,
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=pod0123;K8S_POD_UID=uid-9',
    CNI_PATH: `/nonexistent-bin:${f.bin}`,
  });
  assert.equal(calls[0]!.conf.name, 'chain');
  assert.equal(calls[0]!.conf.cniVersion, '1.0.0');
  assert.equal(calls[0]!.conf.prevResult, undefined);
  assert.equal(calls[0]!.conf.runtimeConfig, undefined);
  assert.deepEqual(calls[1]!.conf.prevResult, podResult(NETNS));
  assert.deepEqual(calls[1]!.conf.runtimeConfig, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
  assert.deepEqual(calls[2]!.conf.prevResult, podResult(NETNS));
  assert.equal(calls[2]!.conf.runtimeConfig, undefined);
});

test('DEL runs in reverse with prevResult; a missing netns is passed as empty', async (t) => {
  const f = fixture(t);
  f.writeNetwork([{ type: 'fake-a', fake: { result: podResult(NETNS) } }, { type: 'fake-b' }, { type: 'fake-c' }]);
  const net = new CniNetwork({ confDir: f.conf, binDirs: [f.bin] });
  const res = await net.setUp(request());
  f.clearCalls();
  await net.tearDown(request(), res.result);
  let calls = f.calls();
  assert.deepEqual(calls.map((c) => `${c.plugin} ${c.cmd}`), ['fake-c DEL', 'fake-b DEL', 'fake-a DEL']);
  for (const c of calls) {
    assert.deepEqual(c.conf.prevResult, podResult(NETNS));
    assert.equal(c.env.CNI_NETNS, NETNS);
  }

  f.clearCalls();
  await net.tearDown(request({ netnsPath: path.join(f.dir, 'gone') }));
  calls = f.calls();
  assert.equal(calls.length, 3);
  for (const c of calls) {
    assert.equal(c.env.CNI_NETNS, '');
    assert.equal(c.conf.prevResult, undefined);
  }
});

test('DEL keeps going past failing plugins and reports every failure', async (t) => {
  const f = fixture(t);
  f.writeNetwork([
    { type: 'fake-a', fake: { result: podResult(NETNS), fail: { code: 11, msg: 'ipam busy' }, failOn: 'DEL' } },
    { type: 'fake-b' },
    { type: 'fake-c', fake: { crash: true, crashOn: 'DEL' } },
  ]);
  const net = new CniNetwork({ confDir: f.conf, binDirs: [f.bin] });
  const res = await net.setUp(request());
  f.clearCalls();
  const err = await net.tearDown(request(), res.result).then(() => assert.fail('should fail'), (e: unknown) => e);
  assert.ok(err instanceof CricketError);
  assert.match(err.message, /^pod pod0123: CNI DEL on network chain: /);
  assert.match(err.message, /CNI DEL of plugin fake-c .*exit code 2; stderr: panic: something broke/);
  assert.match(err.message, /CNI DEL of plugin fake-a .*ipam busy \(code 11: try again later\)/);
  assert.deepEqual(f.calls().map((c) => `${c.plugin} ${c.cmd}`), ['fake-c DEL', 'fake-b DEL', 'fake-a DEL']);
  assert.ok(err.cause instanceof AggregateError);
  assert.equal(err.cause.errors.length, 2);
});

test('a failed ADD deletes what was added, in reverse, before throwing', async (t) => {
  const f = fixture(t);
  f.writeNetwork([
    { type: 'fake-a', fake: { result: podResult(NETNS) } },
    { type: 'fake-b', fake: { fail: { code: 5, msg: 'iptables failed', details: 'chain locked' }, failOn: 'ADD', stderr: 'warn: x\n', stderrOn: 'ADD' } },
    { type: 'fake-c' },
  ]);
  const net = new CniNetwork({ confDir: f.conf, binDirs: [f.bin] });
  await assert.rejects(net.setUp(request()), (e: unknown) =>
    e instanceof CniPluginError &&
    e.plugin === 'fake-b' &&
    e.command === 'ADD' &&
    e.cniError?.code === 5 &&
    /iptables failed \(code 5: I\/O failure\): chain locked; stderr: warn: x/.test(e.message));
  const calls = f.calls();
  assert.deepEqual(calls.map((c) => `${c.plugin} ${c.cmd}`), ['fake-a ADD', 'fake-b ADD', 'fake-b DEL', 'fake-a DEL']);
  assert.deepEqual(calls[2]!.conf.prevResult, podResult(NETNS));
});

test('a timed-out ADD is a deadline error and is undone too', async (t) => {
  const f = fixture(t);
  f.writeNetwork([{ type: 'fake-a', fake: { result: podResult(NETNS), sleepMs: 10_000, sleepOn: 'ADD' } }]);
  const net = new CniNetwork({ confDir: f.conf, binDirs: [f.bin], pluginTimeoutMs: 500 });
  await assert.rejects(net.setUp(request()), (e: unknown) => e instanceof CricketError && e.kind === 'deadline-exceeded');
  assert.deepEqual(f.calls().map((c) => `${c.plugin} ${c.cmd}`), ['fake-a ADD', 'fake-a DEL']);
});

test('an ADD that yields no pod IP is undone and fails', async (t) => {
  const f = fixture(t);
  f.writeNetwork([{ type: 'fake-a', fake: { result: { cniVersion: '1.0.0', ips: [{ address: '127.0.0.1/8' }] } } }]);
  const net = new CniNetwork({ confDir: f.conf, binDirs: [f.bin] });
  await assert.rejects(net.setUp(request()), /returned no IP address for eth0/);
  assert.deepEqual(f.calls().map((c) => `${c.plugin} ${c.cmd}`), ['fake-a ADD', 'fake-a DEL']);
});

test('setUp refuses a missing netns, a bad pod id and a network that is not ready', async (t) => {
  const f = fixture(t);
  f.writeNetwork([{ type: 'fake-a' }, { type: 'not-installed' }]);
  const net = new CniNetwork({ confDir: f.conf, binDirs: [f.bin] });
  await assert.rejects(net.setUp(request()), (e: unknown) =>
    e instanceof CricketError && e.kind === 'failed-precondition' && /not-installed not found/.test(e.message));
  f.writeNetwork([{ type: 'fake-a', fake: { result: podResult(NETNS) } }]);
  await assert.rejects(net.setUp(request({ netnsPath: path.join(f.dir, 'nope') })), (e: unknown) =>
    e instanceof CricketError && e.kind === 'failed-precondition' && /does not exist/.test(e.message));
  await assert.rejects(net.setUp(request({ podId: '../evil' })), (e: unknown) => e instanceof CricketError && e.kind === 'invalid-argument');
  assert.deepEqual(f.calls(), []);
});

test('DEL with the saved config undoes the network ADD used, even after the conf dir changed', async (t) => {
  const f = fixture(t);
  f.writeNetwork([{ type: 'fake-a', fake: { result: podResult(NETNS) } }, { type: 'fake-b' }]);
  const net = new CniNetwork({ confDir: f.conf, binDirs: [f.bin] });
  const res = await net.setUp(request());
  rmSync(path.join(f.conf, '10-test.conflist'));
  writeFileSync(path.join(f.conf, '05-new.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'newnet', plugins: [{ type: 'fake-c' }] }));
  assert.equal(net.name, 'newnet');
  f.clearCalls();
  await net.tearDown(request(), res.result, res.config);
  const calls = f.calls();
  assert.deepEqual(calls.map((c) => `${c.plugin} ${c.cmd}`), ['fake-b DEL', 'fake-a DEL']);
  assert.equal(calls[0]!.conf.name, 'chain');
});

test('spec 0.3.1 networks get no prevResult on DEL and no CHECK', async (t) => {
  const f = fixture(t);
  f.writeNetwork([{ type: 'fake-a', fake: { result: podResult(NETNS) } }], { cniVersion: '0.3.1' });
  const net = new CniNetwork({ confDir: f.conf, binDirs: [f.bin] });
  const res = await net.setUp(request());
  f.clearCalls();
  await net.check(request(), res.result);
  await net.tearDown(request(), res.result);
  const calls = f.calls();
  assert.deepEqual(calls.map((c) => `${c.plugin} ${c.cmd}`), ['fake-a DEL']);
  assert.equal(calls[0]!.conf.prevResult, undefined);
  assert.equal(calls[0]!.conf.cniVersion, '0.3.1');
});

test('CHECK runs in order with prevResult, unless disableCheck', async (t) => {
  const f = fixture(t);
  f.writeNetwork([{ type: 'fake-a', fake: { result: podResult(NETNS) } }, { type: 'fake-b' }]);
  const net = new CniNetwork({ confDir: f.conf, binDirs: [f.bin] });
  const res = await net.setUp(request());
  f.clearCalls();
  await net.check(request(), res.result);
  const calls = f.calls();
  assert.deepEqual(calls.map((c) => `${c.plugin} ${c.cmd}`), ['fake-a CHECK', 'fake-b CHECK']);
  assert.deepEqual(calls[1]!.conf.prevResult, podResult(NETNS));
  await assert.rejects(net.check(request(), undefined), /needs the result/);

  f.writeNetwork([{ type: 'fake-a' }], { disableCheck: true });
  f.clearCalls();
  await net.check(request(), res.result);
  assert.deepEqual(f.calls(), []);
});

test('operations on one pod are serialised; different pods run side by side', async (t) => {
  const f = fixture(t);
  f.writeNetwork([{ type: 'fake-a', fake: { result: podResult(NETNS), sleepMs: 300, sleepOn: 'ADD' } }]);
  const net = new CniNetwork({ confDir: f.conf, binDirs: [f.bin] });
  const started = Date.now();
  const [a] = await Promise.all([net.setUp(request()), net.tearDown(request()), net.setUp(request({ podId: 'other' }))]);
  assert.ok(Date.now() - started < 5000);
  const ours = f.calls().filter((c) => c.env.CNI_CONTAINERID === 'pod0123').map((c) => c.cmd);
  assert.deepEqual(ours, ['ADD', 'DEL']);
  assert.deepEqual(a.ips, ['10.77.0.9']);
});
