import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultNetworkConfig, type CniNetworkConfList } from '../../src/network/config.js';
import { pluginsForPod } from '../../src/network/plugins-for-pod.js';

const mapping = { protocol: 'tcp' as const, containerPort: 80, hostPort: 8080, hostIP: '' };

test('a pod without hostPorts skips a portmap plugin that serves only port mappings', () => {
  const config = defaultNetworkConfig({ bridge: 'b0', subnet: '10.1.0.0/24' });
  assert.deepEqual(config.plugins.map((p) => p.type), ['bridge', 'portmap', 'loopback']);
  assert.deepEqual(pluginsForPod(config, []).plugins.map((p) => p.type), ['bridge', 'loopback']);
  assert.equal(pluginsForPod(config, [mapping]), config);
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
    assert.equal(pluginsForPod(config, []), config, JSON.stringify(plugin));
  }
});

test('a chain of portmap alone is left whole', () => {
  const config: CniNetworkConfList = { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'portmap', capabilities: { portMappings: true } }] };
  assert.equal(pluginsForPod(config, []), config);
});
