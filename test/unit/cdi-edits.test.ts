import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCdiEdits, type CdiEdits } from '../../src/oci/spec/cdi.js';
import { skeleton } from '../../src/oci/spec/base.js';

const spec = () => {
  const s = skeleton();
  s.process.args = ['x'];
  s.process.env = ['PATH=/bin', 'A=1'];
  s.linux.namespaces = [];
  return s;
};
const none: CdiEdits = { env: [], deviceNodes: [], mounts: [], hooks: [], additionalGids: [] };

test('CDI edits: env replaced by name, device node and allow rule, mount, hook, groups', () => {
  const out = withCdiEdits(spec(), [
    { ...none, env: ['A=2', 'B=3'] },
    {
      env: ['B=4'],
      deviceNodes: [{ path: '/dev/x', type: 'c', major: 1, minor: 3, permissions: 'rw', fileMode: 0o666 }],
      mounts: [{ hostPath: '/opt/h', containerPath: '/opt/c' }, { hostPath: 'tmpfs', containerPath: '/dev/shm', type: 'tmpfs', options: ['size=1m'] }],
      hooks: [{ hookName: 'createContainer', path: '/bin/true' }],
      additionalGids: [44, 44],
    },
  ]);
  assert.deepEqual(out.process.env, ['PATH=/bin', 'A=2', 'B=4']);
  assert.deepEqual(out.linux.devices, [{ path: '/dev/x', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }]);
  assert.deepEqual(out.linux.resources?.devices?.at(-1), { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' });
  assert.deepEqual(out.mounts.find((m) => m.destination === '/opt/c'), { destination: '/opt/c', type: 'bind', source: '/opt/h', options: ['rbind', 'rprivate'] });
  assert.equal(out.mounts.filter((m) => m.destination === '/dev/shm').length, 1, 'a CDI mount replaces the default at its destination');
  assert.deepEqual(out.hooks, { createContainer: [{ path: '/bin/true' }] });
  assert.deepEqual(out.process.user.additionalGids, [44]);
});

test('no edits, no change', () => {
  assert.deepEqual(withCdiEdits(spec(), []), spec());
});
