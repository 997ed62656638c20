// Runs after every other test: the machine holds nothing a test pod made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { podCgroupParent } from '../../src/pod/cgroups.js';
import { bridgeAndGenerations, ISOLATED_NETWORK, TEST_BRIDGE, TEST_CGROUP_PARENT, TEST_PREFIX } from '../harness/cricket.js';

test('no test directories, mounts or namespaces are left', () => {
  const dirs = readdirSync('/tmp').filter((n) => `/tmp/${n}`.startsWith(TEST_PREFIX));
  assert.deepEqual(dirs, [], 'test state directories');
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes(TEST_PREFIX));
  assert.deepEqual(mounts, [], 'mounts');
  const nsfs = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => / - nsfs /.test(l) && l.includes(TEST_PREFIX));
  assert.deepEqual(nsfs, [], 'pinned network namespaces');
});

test('no pause, conmon or container process of a test pod is left', () => {
  const left: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      // Test pods run from roots and bundles under the test directories.
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const root = readlinkSync(`/proc/${pid}/root`);
      if (cmdline.includes(TEST_PREFIX) || root.startsWith(TEST_PREFIX)) left.push(`${pid} ${cmdline.replace(/\0/g, ' ')}`);
    } catch {
      // The process ended while we looked.
    }
  }
  assert.deepEqual(left, []);
});

test('no cgroup of a test pod is left', () => {
  const left: string[] = [];
  // Pods whose config names no cgroup parent (the tests' by-hand ones) go under the daemon's own
  // fallback parent: the suite expects no other cricket on the machine to keep pods there.
  for (const parent of [TEST_CGROUP_PARENT, podCgroupParent({ cgroupParent: '' })]) {
    for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
      const dir = join('/sys/fs/cgroup', hierarchy, parent);
      if (!existsSync(dir)) continue;
      const children = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory());
      left.push(...children.map((entry) => join(dir, entry.name)));
      // The parent itself was made by runc for the test pods; it goes once empty.
      if (children.length === 0) rmdirSync(dir);
    }
  }
  assert.deepEqual(left, []);
});

test('no iptables rule names a test pod', () => {
  let rules = '';
  try {
    rules = execFileSync('iptables-save', [], { encoding: 'utf8' });
  } catch {
    return; // no iptables on this machine: nothing can be left there.
  }
  const lines = rules.split('\n').filter((l) => l.includes(TEST_CGROUP_PARENT) || l.includes(TEST_BRIDGE));
  assert.deepEqual(lines, []);
});

test('the test bridge is removed', () => {
  try {
    execFileSync('ip', ['link', 'delete', TEST_BRIDGE], { stdio: 'ignore' });
  } catch {
    // Already gone.
  }
  assert.ok(!existsSync(`/sys/class/net/${TEST_BRIDGE}`));
  // No test leaves a later generation of the slot's bridge (a pod CIDR change with pods on it),
  // and the fuzz campaign removes its own bridge and their generations itself.
  assert.deepEqual([...bridgeAndGenerations(TEST_BRIDGE), ...bridgeAndGenerations(ISOLATED_NETWORK.bridge)], []);
});
