import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NamespaceMode } from '../../src/gen/runtime/v1/api.js';
import { checkContainerUserNamespace, podUserNamespace } from '../../src/pod/user-namespace.js';
import { withJoinedUserNamespace, withPodUserNamespace } from '../../src/oci/spec/user-namespace.js';
import { skeleton } from '../../src/oci/spec/base.js';
import { CricketError } from '../../src/errors.js';

const shared = { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD };
const m = (hostId: number, length = 65536, containerId = 0) => ({ hostId, containerId, length });
const invalid = (fn: () => unknown) => assert.throws(fn, (err: unknown) => err instanceof CricketError && err.kind === 'invalid-argument');

test('kubelet mappings give the pod its ranges; none or NODE give none', () => {
  assert.deepEqual(podUserNamespace({ mode: NamespaceMode.POD, uids: [m(131072)], gids: [m(196608)] }, shared, 'p'), {
    uids: [{ containerID: 0, hostID: 131072, size: 65536 }],
    gids: [{ containerID: 0, hostID: 196608, size: 65536 }],
  });
  assert.equal(podUserNamespace(undefined, shared, 'p'), undefined);
  assert.equal(podUserNamespace({ mode: NamespaceMode.NODE, uids: [], gids: [] }, shared, 'p'), undefined);
});

test('anything else is INVALID_ARGUMENT', () => {
  invalid(() => podUserNamespace({ mode: NamespaceMode.POD, uids: [m(65536, 65535)], gids: [m(65536)] }, shared, 'p'));
  invalid(() => podUserNamespace({ mode: NamespaceMode.POD, uids: [m(65537)], gids: [m(65537)] }, shared, 'p'));
  invalid(() => podUserNamespace({ mode: NamespaceMode.POD, uids: [m(0)], gids: [m(0)] }, shared, 'p'));
  invalid(() => podUserNamespace({ mode: NamespaceMode.POD, uids: [m(65536, 65536, 1)], gids: [m(65536)] }, shared, 'p'));
  invalid(() => podUserNamespace({ mode: NamespaceMode.POD, uids: [m(65536)], gids: [] }, shared, 'p'));
  invalid(() => podUserNamespace({ mode: NamespaceMode.TARGET, uids: [m(65536)], gids: [m(65536)] }, shared, 'p'));
  invalid(() => podUserNamespace({ mode: NamespaceMode.CONTAINER, uids: [m(65536)], gids: [m(65536)] }, shared, 'p'));
  invalid(() => podUserNamespace({ mode: NamespaceMode.POD, uids: [m(65536)], gids: [m(65536)] }, { ...shared, pid: NamespaceMode.NODE }, 'p'));
  invalid(() => podUserNamespace({ mode: NamespaceMode.NODE, uids: [m(65536)], gids: [] }, shared, 'p'));
});

test('a container must name its pod\'s user namespace, if it names one', () => {
  const pod = podUserNamespace({ mode: NamespaceMode.POD, uids: [m(65536)], gids: [m(65536)] }, shared, 'p');
  checkContainerUserNamespace(undefined, pod, 'c');
  checkContainerUserNamespace({ mode: NamespaceMode.POD, uids: [m(65536)], gids: [m(65536)] }, pod, 'c');
  checkContainerUserNamespace({ mode: NamespaceMode.NODE, uids: [], gids: [] }, undefined, 'c');
  invalid(() => checkContainerUserNamespace({ mode: NamespaceMode.POD, uids: [m(131072)], gids: [m(65536)] }, pod, 'c'));
  invalid(() => checkContainerUserNamespace({ mode: NamespaceMode.NODE, uids: [], gids: [] }, pod, 'c'));
  invalid(() => checkContainerUserNamespace({ mode: NamespaceMode.POD, uids: [m(65536)], gids: [m(65536)] }, undefined, 'c'));
});

test('pause makes the user namespace with the mappings; containers join it by the pause pid', () => {
  const base = () => {
    const s = skeleton();
    s.process.args = ['x'];
    s.linux.namespaces = [{ type: 'network', path: '/n' }];
    return s;
  };
  const mappings = { uids: [{ containerID: 0, hostID: 65536, size: 65536 }], gids: [{ containerID: 0, hostID: 131072, size: 65536 }] };
  const pause = withPodUserNamespace(base(), mappings);
  assert.deepEqual(pause.linux.namespaces.filter((n) => n.type === 'user'), [{ type: 'user' }]);
  assert.deepEqual(pause.linux.gidMappings, mappings.gids);
  const container = withJoinedUserNamespace(base(), mappings, 1234);
  assert.deepEqual(container.linux.namespaces.filter((n) => n.type === 'user'), [{ type: 'user', path: '/proc/1234/ns/user' }]);
  assert.deepEqual(container.linux.uidMappings, mappings.uids);
  assert.equal(withPodUserNamespace(base(), undefined).linux.uidMappings, undefined);
  assert.ok(!withJoinedUserNamespace(base(), undefined, 1).linux.namespaces.some((n) => n.type === 'user'));
});
