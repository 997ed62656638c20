// CNI_ARGS, plugin environment and stdin, CNI error objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CricketError } from '../../src/errors.js';
import {
  buildCniArgs,
  buildPluginEnv,
  buildPluginStdin,
  describeCniError,
  parseCniError,
  validateContainerId,
} from '../../src/network/plugin.js';

const pod = { podId: 'abc123', podName: 'web-0', podNamespace: 'default', podUid: 'u-1-2' };

test('CNI_ARGS carries the pod identity kubelet-style', () => {
  assert.equal(
    buildCniArgs(pod),
    'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=u-1-2',
  );
});

test('CNI_ARGS refuses values that would break its K=V;K=V syntax', () => {
  for (const bad of ['a;b', 'a=b', 'a b']) {
    assert.throws(
      () => buildCniArgs({ ...pod, podName: bad }),
      (err: unknown) => err instanceof CricketError && err.kind === 'invalid-argument' && err.message.includes('K8S_POD_NAME'),
    );
  }
});

test('container ids are checked against the CNI grammar', () => {
  validateContainerId('0123abcdef');
  validateContainerId('a_b.c-d');
  for (const bad of ['', '-x', '../x', 'a/b', 'a b']) {
    assert.throws(() => validateContainerId(bad), (e: unknown) => e instanceof CricketError && e.kind === 'invalid-argument');
  }
});

test('plugin env: CNI parameters, cricket env kept, inherited CNI_* dropped', () => {
  const env = buildPluginEnv(
    { command: 'ADD', containerId: 'abc123', netns: '/run/cricket/netns/abc123', ifName: 'eth0', cniArgs: 'IgnoreUnknown=1', binDirs: ['/opt/cni/bin', '/usr/lib/cni'] },
    { PATH: '/usr/bin', HOME: '/root', CNI_IFNAME: 'stale', CNI_EXTRA: 'x' },
  );
  assert.deepEqual(env, {
    PATH: '/usr/bin',
    HOME: '/root',
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'abc123',
    CNI_NETNS: '/run/cricket/netns/abc123',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'IgnoreUnknown=1',
    CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
  });
  const bare = buildPluginEnv({ command: 'DEL', containerId: 'x', netns: '', ifName: 'eth0', cniArgs: '', binDirs: ['/b'] }, {});
  assert.match(bare.PATH ?? '', /\/usr\/sbin/);
  assert.equal(bare.CNI_NETNS, '');
});

test('stdin: plugin config + name + cniVersion + prevResult; runtimeConfig only for declared capabilities', () => {
  const network = { name: 'n1', cniVersion: '1.0.0' };
  const mappings = [
    { hostPort: 8080, containerPort: 80, protocol: 'tcp' as const, hostIP: '' },
    { hostPort: 5353, containerPort: 53, protocol: 'udp' as const, hostIP: '10.0.0.1' },
  ];
  const prev = { cniVersion: '1.0.0', ips: [{ address: '10.0.0.5/24' }] };
  const withCap = buildPluginStdin(network, { type: 'portmap', capabilities: { portMappings: true }, snat: true }, { portMappings: mappings }, prev);
  assert.deepEqual(withCap, {
    type: 'portmap',
    capabilities: { portMappings: true },
    snat: true,
    name: 'n1',
    cniVersion: '1.0.0',
    runtimeConfig: {
      portMappings: [
        { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '10.0.0.1' },
      ],
    },
    prevResult: prev,
  });
  const noCap = buildPluginStdin(network, { type: 'bridge', bridge: 'br0' }, { portMappings: mappings }, undefined);
  assert.deepEqual(noCap, { type: 'bridge', bridge: 'br0', name: 'n1', cniVersion: '1.0.0' });
  // A file cannot smuggle its own runtimeConfig or prevResult in.
  const smuggled = buildPluginStdin(network, { type: 'x', runtimeConfig: { a: 1 }, prevResult: { b: 2 }, capabilities: { portMappings: false } }, { portMappings: mappings }, undefined);
  assert.deepEqual(smuggled, { type: 'x', capabilities: { portMappings: false }, name: 'n1', cniVersion: '1.0.0' });
});

test('CNI error objects are found on stdout (or stderr) and described', () => {
  const info = parseCniError('{"cniVersion":"1.0.0","code":7,"msg":"invalid config","details":"no subnet"}');
  assert.deepEqual(info, { code: 7, msg: 'invalid config', details: 'no subnet' });
  assert.equal(describeCniError(info!), 'invalid config (code 7: invalid network config): no subnet');
  assert.deepEqual(parseCniError('', '{"code":11,"msg":"busy"}'), { code: 11, msg: 'busy' });
  assert.equal(describeCniError({ code: 123, msg: 'custom' }), 'custom (code 123)');
  assert.equal(parseCniError('plain text', 'more text'), undefined);
  assert.equal(parseCniError('{"ips":[]}'), undefined);
});
