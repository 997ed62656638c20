// Mount rules: defaults, the pod's shared files, CRI bind mounts with propagation and read-only
// flag, shadowing of defaults, rootfs propagation, writable /sys for privileged containers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MountPropagation } from '../../src/gen/runtime/v1/api.js';
import { containerSpec } from '../../src/oci/spec/container.js';
import { pauseSpec } from '../../src/oci/spec/pause.js';
import { containerInput, pauseInput, pod, podRequest, request } from './oci-spec-fixtures.js';

const byDest = (spec: ReturnType<typeof containerSpec>, dest: string) => spec.mounts.filter((m) => m.destination === dest);

test('CRI mounts become rbind mounts with their propagation and read-only flag, after the defaults', () => {
  const spec = containerSpec(containerInput(request('x', ['true'], {
    mounts: [
      { containerPath: '/a', hostPath: '/h/a' },
      { containerPath: '/b', hostPath: '/h/b', readonly: true, propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER },
      { containerPath: '/c', hostPath: '/h/c', propagation: MountPropagation.PROPAGATION_BIDIRECTIONAL },
    ],
  }), { pod: pod({ privileged: true }) }));
  assert.deepEqual(byDest(spec, '/a'), [{ destination: '/a', type: 'bind', source: '/h/a', options: ['rbind', 'rprivate', 'rw'] }]);
  assert.deepEqual(byDest(spec, '/b')[0]!.options, ['rbind', 'rslave', 'ro']);
  assert.deepEqual(byDest(spec, '/c')[0]!.options, ['rbind', 'rshared', 'rw']);
  assert.deepEqual(spec.mounts.slice(-3).map((m) => m.destination), ['/a', '/b', '/c']);
  assert.equal(spec.mounts[0]!.destination, '/proc');
});

test('rootfs propagation is the strongest any mount asks for, and absent otherwise', () => {
  const slave = containerSpec(containerInput(request('x', ['true'], { mounts: [{ containerPath: '/b', hostPath: '/h', propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER }] })));
  assert.equal(slave.linux.rootfsPropagation, 'rslave');
  const shared = containerSpec(containerInput(request('x', ['true'], {
    mounts: [
      { containerPath: '/b', hostPath: '/h', propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER },
      { containerPath: '/c', hostPath: '/h2', propagation: MountPropagation.PROPAGATION_BIDIRECTIONAL },
    ],
  })));
  assert.equal(shared.linux.rootfsPropagation, 'rshared');
  assert.equal(containerSpec(containerInput(request('x', ['true']))).linux.rootfsPropagation, undefined);
});

test('the pod files are bound in, read-only with a read-only root, unless the request mounts there', () => {
  const spec = containerSpec(containerInput(request('x', ['true'], {
    mounts: [{ containerPath: '/etc/resolv.conf', hostPath: '/custom/resolv.conf' }],
    linux: { securityContext: { readonlyRootfs: true } },
  })));
  assert.deepEqual(byDest(spec, '/etc/hosts')[0]!.options, ['rbind', 'rprivate', 'ro']);
  assert.deepEqual(byDest(spec, '/etc/resolv.conf').map((m) => m.source), ['/custom/resolv.conf']);
  assert.equal(byDest(spec, '/etc/hostname').length, 1);
});

test("a container in the pod's IPC namespace mounts the pod's /dev/shm, writable under a read-only root, unless the request mounts there", () => {
  const shm = '/run/cricket/sandboxes/p/shm';
  const withPodShm = (config: Parameters<typeof containerInput>[0]) => {
    const input = containerInput(config);
    return containerSpec({ ...input, podFiles: { ...input.podFiles, shm } });
  };
  const spec = withPodShm(request('x', ['true'], { linux: { securityContext: { readonlyRootfs: true } } }));
  assert.deepEqual(byDest(spec, '/dev/shm'), [{ destination: '/dev/shm', type: 'bind', source: shm, options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec', 'rw'] }]);
  const asked = withPodShm(request('x', ['true'], { mounts: [{ containerPath: '/dev/shm', hostPath: '/memory/volume' }] }));
  assert.deepEqual(byDest(asked, '/dev/shm').map((m) => m.source), ['/memory/volume']);
  // Without one (a hostIPC pod), a tmpfs of its own.
  const input = containerInput(request('x', ['true']));
  assert.deepEqual(byDest(containerSpec({ ...input, podFiles: { ...input.podFiles, shm: undefined } }), '/dev/shm').map((m) => m.type), ['tmpfs']);
});

test('a CRI mount replaces the default at the same destination', () => {
  const spec = containerSpec(containerInput(request('x', ['true'], { mounts: [{ containerPath: '/dev/shm', hostPath: '/pod/shm' }] })));
  assert.deepEqual(byDest(spec, '/dev/shm').map((m) => m.type), ['bind']);
});

test('mounts without an absolute destination or a host path are refused', () => {
  assert.throws(() => containerSpec(containerInput(request('x', ['true'], { mounts: [{ containerPath: 'rel', hostPath: '/h' }] }))), /not absolute/);
  assert.throws(() => containerSpec(containerInput(request('x', ['true'], { mounts: [{ containerPath: '/x', hostPath: '' }] }))), /no host path/);
});

test('privileged containers get /sys and the cgroup file system writable; others read-only', () => {
  const priv = containerSpec(containerInput(request('x', ['true'], { linux: { securityContext: { privileged: true } } }), { pod: pod({ privileged: true }) }));
  assert.ok(byDest(priv, '/sys')[0]!.options!.includes('rw') && !byDest(priv, '/sys')[0]!.options!.includes('ro'));
  assert.ok(byDest(priv, '/sys/fs/cgroup')[0]!.options!.includes('rw'));
  const plain = containerSpec(containerInput(request('x', ['true'])));
  assert.ok(byDest(plain, '/sys')[0]!.options!.includes('ro'));
});

test('pause gets /proc and /dev only, and masks nothing under /sys, where nothing is mounted', () => {
  const spec = pauseSpec(pauseInput(podRequest('p')));
  assert.deepEqual(spec.mounts.map((m) => m.destination), ['/proc', '/dev']);
  assert.ok(spec.linux.maskedPaths!.includes('/proc/kcore'));
  assert.ok(!spec.linux.maskedPaths!.some((p) => p.startsWith('/sys')));
  assert.ok(spec.linux.readonlyPaths!.includes('/proc/sys'));
});
