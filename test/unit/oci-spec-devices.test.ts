// Device rules: CRI devices become nodes and allow rules, after a privileged container's host
// devices; paths and permissions are checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerSpec } from '../../src/oci/spec/container.js';
import type { ResolvedDevice } from '../../src/oci/spec/types.js';
import { containerInput, pod, request } from './oci-spec-fixtures.js';

const fuse: ResolvedDevice = { containerPath: '/dev/fuse', hostPath: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, permissions: 'rw' };

test('a CRI device becomes a node in the container and an allow rule after the deny-all', () => {
  const spec = containerSpec(containerInput(request('x', ['true']), { devices: [fuse, { ...fuse, containerPath: '/dev/sda', type: 'b', major: 8, minor: 0, permissions: 'r' }] }));
  assert.deepEqual(spec.linux.devices, [
    { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
    { path: '/dev/sda', type: 'b', major: 8, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
  ]);
  assert.deepEqual(spec.linux.resources!.devices, [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
    { allow: true, type: 'b', major: 8, minor: 0, access: 'r' },
  ]);
});

test('no devices, no devices key', () => {
  assert.equal(containerSpec(containerInput(request('x', ['true']))).linux.devices, undefined);
});

test('privileged: the host devices first, then the requested ones', () => {
  const host = [{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }];
  const spec = containerSpec(containerInput(request('x', ['true'], { linux: { securityContext: { privileged: true } } }), { pod: pod({ privileged: true }), hostDevices: host, devices: [fuse] }));
  assert.deepEqual(spec.linux.devices!.map((d) => d.path), ['/dev/null', '/dev/fuse']);
  assert.deepEqual(spec.linux.resources!.devices![0], { allow: true, access: 'rwm' });
});

test('a relative container path or bad permissions are refused', () => {
  assert.throws(() => containerSpec(containerInput(request('x', ['true']), { devices: [{ ...fuse, containerPath: 'dev/fuse' }] })), /not absolute/);
  assert.throws(() => containerSpec(containerInput(request('x', ['true']), { devices: [{ ...fuse, permissions: 'rwx' }] })), /not a mix of r, w and m/);
});
