// Pod IPs out of CNI results of every spec generation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podIpsFromResult } from '../../src/network/result.js';

test('spec 1.0 result: only addresses on the pod interface, without prefix', () => {
  const result = {
    cniVersion: '1.0.0',
    interfaces: [
      { name: 'cni0', mac: '00:11:22:33:44:55' },
      { name: 'veth1234', mac: '00:11:22:33:44:66' },
      { name: 'eth0', mac: '00:11:22:33:44:77', sandbox: '/run/cricket/netns/p1' },
      { name: 'lo', sandbox: '/run/cricket/netns/p1' },
    ],
    ips: [
      { address: '10.88.0.1/16', interface: 0 },
      { address: '127.0.0.1/8', interface: 3 },
      { address: '10.88.0.7/16', gateway: '10.88.0.1', interface: 2 },
    ],
  };
  assert.deepEqual(podIpsFromResult(result), ['10.88.0.7']);
});

test('dual stack: IPv4 first, then IPv6, each in plugin order', () => {
  const result = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', sandbox: '/ns' }],
    ips: [
      { address: 'fd00::5/64', interface: 0 },
      { address: '10.1.0.5/24', interface: 0 },
      { address: 'fd00::6/64', interface: 0 },
      { address: '10.1.0.6/24', interface: 0 },
      { address: '10.1.0.5/24', interface: 0 },
    ],
  };
  assert.deepEqual(podIpsFromResult(result), ['10.1.0.5', '10.1.0.6', 'fd00::5', 'fd00::6']);
});

test('spec 0.4 result with version fields and no interface indexes', () => {
  const result = {
    cniVersion: '0.4.0',
    ips: [
      { version: '4', address: '192.168.5.9/24', gateway: '192.168.5.1' },
      { version: '4', address: '127.0.0.1/8' },
    ],
  };
  assert.deepEqual(podIpsFromResult(result), ['192.168.5.9']);
});

test('a custom interface name is honoured', () => {
  const result = {
    interfaces: [{ name: 'eth0', sandbox: '/ns' }, { name: 'net1', sandbox: '/ns' }],
    ips: [{ address: '10.0.0.2/24', interface: 0 }, { address: '10.5.0.2/24', interface: 1 }],
  };
  assert.deepEqual(podIpsFromResult(result, 'net1'), ['10.5.0.2']);
});

test('spec 0.1/0.2 result: ip4 and ip6 blocks', () => {
  assert.deepEqual(
    podIpsFromResult({ cniVersion: '0.2.0', ip4: { ip: '10.2.0.3/16', gateway: '10.2.0.1' }, ip6: { ip: 'fd01::3/64' } }),
    ['10.2.0.3', 'fd01::3'],
  );
});

test('garbage yields no IPs rather than an exception', () => {
  for (const r of [undefined, null, 'x', 42, [], {}, { ips: 'no' }, { ips: [{ address: 'not-an-ip/8' }, null, 7] }]) {
    assert.deepEqual(podIpsFromResult(r), []);
  }
});
