// Namespace rules: a container joins its pod's namespaces by path from the pause process (pid
// given as data), PID modes POD / CONTAINER / NODE / TARGET, host namespaces; pause creates them;
// hostname and sysctls of the pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NamespaceMode } from '../../src/gen/runtime/v1/api.js';
import { containerSpec } from '../../src/oci/spec/container.js';
import { containerNamespaces } from '../../src/oci/spec/namespaces.js';
import { pauseSpec } from '../../src/oci/spec/pause.js';
import { containerInput, pauseInput, pod, podRequest, request } from './oci-spec-fixtures.js';

test('a container joins the pinned netns and the pause process UTS and IPC; the pause pid is data', () => {
  const facts = pod();
  assert.deepEqual(containerNamespaces(facts, 777, NamespaceMode.CONTAINER, 0), [
    { type: 'network', path: facts.netnsPath },
    { type: 'uts', path: '/proc/777/ns/uts' },
    { type: 'ipc', path: '/proc/777/ns/ipc' },
    { type: 'pid' },
  ]);
  assert.deepEqual(containerNamespaces(facts, 777, NamespaceMode.POD, 0).at(-1), { type: 'pid', path: '/proc/777/ns/pid' });
  assert.deepEqual(containerNamespaces(facts, 777, NamespaceMode.TARGET, 999).at(-1), { type: 'pid', path: '/proc/999/ns/pid' });
  assert.equal(containerNamespaces(facts, 777, NamespaceMode.NODE, 0).find((n) => n.type === 'pid'), undefined);
});

test('the spec always has its own mount namespace first; PID mode from the container, else the pod', () => {
  const spec = containerSpec(containerInput(request('x', ['true']), { pod: pod({ namespaces: { network: NamespaceMode.POD, pid: NamespaceMode.POD, ipc: NamespaceMode.POD } }) }));
  assert.deepEqual(spec.linux.namespaces[0], { type: 'mount' });
  assert.deepEqual(spec.linux.namespaces.at(-1), { type: 'pid', path: '/proc/4242/ns/pid' });
  const own = containerSpec(containerInput(request('x', ['true'], { linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.CONTAINER } } } }),
    { pod: pod({ namespaces: { network: NamespaceMode.POD, pid: NamespaceMode.POD, ipc: NamespaceMode.POD } }) }));
  assert.deepEqual(own.linux.namespaces.at(-1), { type: 'pid' });
});

test('host network and IPC: nothing joined, only the mount namespace (and PID when asked)', () => {
  const hostNs = { network: NamespaceMode.NODE, pid: NamespaceMode.NODE, ipc: NamespaceMode.NODE };
  const spec = containerSpec(containerInput(request('x', ['true'], { linux: { securityContext: { namespaceOptions: hostNs } } }), { pod: pod({ namespaces: hostNs, netnsPath: '' }) }));
  assert.deepEqual(spec.linux.namespaces, [{ type: 'mount' }]);
});

test('pause creates UTS, IPC and PID and joins the pinned netns; host namespaces are left out', () => {
  const spec = pauseSpec(pauseInput(podRequest('p')));
  assert.deepEqual(spec.linux.namespaces.map((n) => n.type), ['mount', 'network', 'uts', 'ipc', 'pid']);
  assert.ok(spec.linux.namespaces[1]!.path!.endsWith('/netns/' + spec.linux.cgroupsPath!.split('/').pop()));
  const host = pauseSpec(pauseInput(podRequest('p', { linux: { securityContext: { namespaceOptions: { network: NamespaceMode.NODE, ipc: NamespaceMode.NODE, pid: NamespaceMode.NODE } } } })));
  assert.deepEqual(host.linux.namespaces, [{ type: 'mount' }]);
});

test('pause sets the pod hostname only in a UTS namespace of its own and with one given', () => {
  assert.equal(pauseSpec(pauseInput(podRequest('web'))).hostname, 'web');
  assert.equal(pauseSpec(pauseInput(podRequest('web', { hostname: '' }))).hostname, undefined);
  assert.equal(pauseSpec(pauseInput(podRequest('web', { linux: { securityContext: { namespaceOptions: { network: NamespaceMode.NODE } } } }))).hostname, undefined);
});

test('annotations tell the pause process from containers and name the pod', () => {
  const pause = pauseSpec(pauseInput(podRequest('web'))).annotations!;
  assert.equal(pause['io.kubernetes.cri.container-type'], 'sandbox');
  assert.equal(pause['io.kubernetes.cri.sandbox-name'], 'web');
  assert.equal(pause['io.kubernetes.cri.sandbox-log-directory'], '/var/log/pods/default_web');
  const container = containerSpec(containerInput(request('app', ['true']))).annotations!;
  assert.equal(container['io.kubernetes.cri.container-type'], 'container');
  assert.equal(container['io.kubernetes.cri.container-name'], 'app');
  assert.equal(container['io.kubernetes.cri.image-name'], 'cricket.local/busybox:latest');
  assert.equal(container['io.kubernetes.cri.sandbox-id'], pod().id);
});

test('pod sysctls go to pause; none, no key', () => {
  const spec = pauseSpec(pauseInput(podRequest('p', { linux: { sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' } } })));
  assert.deepEqual(spec.linux.sysctl, { 'net.ipv4.ip_unprivileged_port_start': '0' });
  assert.equal(pauseSpec(pauseInput(podRequest('p'))).linux.sysctl, undefined);
});
