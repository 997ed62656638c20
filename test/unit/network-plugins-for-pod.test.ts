import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultNetworkConfig, type CniNetworkConfList } from '../../src/network/config.js';
import { pluginsForPod } from '../../src/network/plugins-for-pod.js';

const mapping = { protocol: 'tcp' as const, containerPort: 80, hostPort: 8080, hostIP: '' };
const types = (c: CniNetworkConfList) => c.plugins.map((p) => p.type);

test('a pod without hostPorts skips a portmap plugin that serves only port mappings', () => {
  const config = defaultNetworkConfig({ bridge: 'b0', subnet: '10.1.0.0/24' });
  assert.deepEqual(types(config), ['bridge', 'portmap', 'loopback']);
  assert.deepEqual(types(pluginsForPod(config, { portMappings: [] })), ['bridge', 'loopback']);
  assert.equal(pluginsForPod(config, { portMappings: [mapping] }), config);
});

test('a netns made with lo up skips a plain loopback plugin after the first', () => {
  const config = defaultNetworkConfig({ bridge: 'b0', subnet: '10.1.0.0/24' });
  assert.deepEqual(types(pluginsForPod(config, { portMappings: [], loopbackUp: true })), ['bridge']);
  assert.deepEqual(types(pluginsForPod(config, { portMappings: [mapping], loopbackUp: true })), ['bridge', 'portmap']);
  assert.deepEqual(types(pluginsForPod(config, { portMappings: [mapping], loopbackUp: false })), ['bridge', 'portmap', 'loopback']);
  const alone: CniNetworkConfList = { cniVersion: '1.0.0', name: 'lo', plugins: [{ type: 'loopback' }] };
  assert.equal(pluginsForPod(alone, { portMappings: [], loopbackUp: true }), alone);
  const tuned: CniNetworkConfList = { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'bridge' }, { type: 'loopback', extra: 1 } as CniNetworkConfList['plugins'][number]] };
  assert.equal(pluginsForPod(tuned, { portMappings: [], loopbackUp: true }), tuned);
});

test('portmap with another capability, or without the capability, stays', () => {
  const list = (plugin: CniNetworkConfList['plugins'][number]): CniNetworkConfList => ({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'bridge' }, plugin] });
  const plugins: CniNetworkConfList['plugins'] = [
    { type: 'portmap', capabilities: { portMappings: true, bandwidth: true } },
    { type: 'portmap' },
    { type: 'portmap', capabilities: { portMappings: false } },
    { type: 'tuning', capabilities: { portMappings: true } },
  ];
  for (const plugin of plugins) {
    const config = list(plugin);
    assert.equal(pluginsForPod(config, { portMappings: [] }), config, JSON.stringify(plugin));
  }
});

test('a chain of portmap alone is left whole', () => {
  const config: CniNetworkConfList = { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'portmap', capabilities: { portMappings: true } }] };
  assert.equal(pluginsForPod(config, { portMappings: [] }), config);
});
