// Security rules: privileged (only in privileged pods), capabilities add/drop/ALL and ambient,
// no_new_privs, masked and read-only paths, seccomp kinds, AppArmor/SELinux on a node without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SecurityProfile_ProfileType } from '../../src/gen/runtime/v1/api.js';
import { resolveCapabilities } from '../../src/oci/spec/capabilities.js';
import { DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS } from '../../src/oci/spec/base.js';
import { containerSpec } from '../../src/oci/spec/container.js';
import { pauseSpec } from '../../src/oci/spec/pause.js';
import { seccompChoice } from '../../src/oci/spec/security.js';
import { containerInput, NODE_V1, pauseInput, pod, podRequest, request } from './oci-spec-fixtures.js';

const sc = (securityContext: object) => request('x', ['true'], { linux: { securityContext } });
interface Seccomp { defaultAction: string; syscalls: { names: string[]; action: string }[] }
const denied = (spec: ReturnType<typeof containerSpec>) => new Set((spec.linux.seccomp as Seccomp).syscalls.flatMap((s) => s.names));

test('capabilities: defaults; add and drop by any spelling; drop ALL; add ALL is what the node allows', () => {
  assert.deepEqual(containerSpec(containerInput(sc({}))).process.capabilities!.effective, [...DEFAULT_CAPABILITIES]);
  const caps = containerSpec(containerInput(sc({ capabilities: { addCapabilities: ['net_admin'], dropCapabilities: ['CAP_KILL'] } }))).process.capabilities!;
  assert.ok(caps.bounding.includes('CAP_NET_ADMIN') && !caps.bounding.includes('CAP_KILL'));
  assert.deepEqual(caps.effective, caps.permitted);
  assert.deepEqual(resolveCapabilities(DEFAULT_CAPABILITIES, ['CHOWN'], ['ALL'], NODE_V1.capabilities), ['CAP_CHOWN']);
  const all = resolveCapabilities(DEFAULT_CAPABILITIES, ['ALL'], [], NODE_V1.capabilities);
  assert.ok(!all.includes('CAP_SYS_RESOURCE'), 'a capability the node withholds was granted');
  assert.equal(all.length, NODE_V1.capabilities.length);
  assert.throws(() => containerSpec(containerInput(sc({ capabilities: { addCapabilities: ['CAP_FLY'] } }))), /unknown capability "CAP_FLY"/);
});

test('ambient capabilities are also inheritable and held', () => {
  const caps = containerSpec(containerInput(sc({ capabilities: { addAmbientCapabilities: ['NET_BIND_SERVICE', 'sys_nice'] } }))).process.capabilities!;
  assert.deepEqual(caps.ambient, ['CAP_NET_BIND_SERVICE', 'CAP_SYS_NICE']);
  assert.deepEqual(caps.inheritable, caps.ambient);
  assert.ok(caps.effective.includes('CAP_SYS_NICE'));
});

test('privileged: only in a privileged pod; all node capabilities, nothing masked, host devices, no seccomp', () => {
  const req = sc({ privileged: true, seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault } });
  assert.throws(() => containerSpec(containerInput(req)), /needs a privileged pod sandbox/);
  const hostDevices = [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 }];
  const spec = containerSpec(containerInput(req, { pod: pod({ privileged: true }), hostDevices }));
  assert.deepEqual(spec.process.capabilities!.bounding, [...NODE_V1.capabilities]);
  assert.deepEqual(spec.linux.maskedPaths, []);
  assert.deepEqual(spec.linux.readonlyPaths, []);
  assert.deepEqual(spec.linux.devices, hostDevices);
  assert.deepEqual(spec.linux.resources!.devices, [{ allow: true, access: 'rwm' }]);
  assert.equal(spec.linux.seccomp, undefined);
});

test('no_new_privs follows the request', () => {
  assert.equal(containerSpec(containerInput(sc({ noNewPrivs: true }))).process.noNewPrivileges, true);
  assert.equal(containerSpec(containerInput(sc({}))).process.noNewPrivileges, false);
});

test('masked and read-only paths: the request lists, else the defaults', () => {
  const spec = containerSpec(containerInput(sc({ maskedPaths: ['/proc/x'], readonlyPaths: ['/proc/y'] })));
  assert.deepEqual(spec.linux.maskedPaths, ['/proc/x']);
  assert.deepEqual(spec.linux.readonlyPaths, ['/proc/y']);
  assert.deepEqual(containerSpec(containerInput(sc({}))).linux.maskedPaths, [...DEFAULT_MASKED_PATHS]);
});

test('seccomp: RuntimeDefault shaped by capabilities, Unconfined none, Localhost the profile read by the caller', () => {
  const rd = { seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault } };
  assert.ok(denied(containerSpec(containerInput(sc(rd)))).has('mount'));
  assert.ok(!denied(containerSpec(containerInput(sc({ ...rd, capabilities: { addCapabilities: ['SYS_ADMIN'] } })))).has('mount'));
  assert.equal(containerSpec(containerInput(sc({ seccomp: { profileType: SecurityProfile_ProfileType.Unconfined } }))).linux.seccomp, undefined);
  const profile = { defaultAction: 'SCMP_ACT_ERRNO' };
  const local = sc({ seccomp: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: '/p.json' } });
  assert.deepEqual(containerSpec(containerInput(local, { localhostSeccomp: profile })).linux.seccomp, profile);
  assert.throws(() => containerSpec(containerInput(local)), /was not read/);
});

test('seccomp: the older path strings, and bad ones refused', () => {
  assert.deepEqual(seccompChoice(undefined, ''), { kind: 'unconfined' });
  assert.deepEqual(seccompChoice(undefined, 'docker/default'), { kind: 'default' });
  assert.deepEqual(seccompChoice(undefined, 'localhost//etc/p.json'), { kind: 'localhost', path: '/etc/p.json' });
  assert.throws(() => seccompChoice(undefined, 'bogus'), /neither unconfined/);
  assert.throws(() => seccompChoice({ profileType: SecurityProfile_ProfileType.Localhost, localhostRef: 'rel.json' }, ''), /not an absolute path/);
});

test('AppArmor and SELinux options are refused on a node without them, accepted on one with them', () => {
  const apparmor = sc({ apparmor: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: 'p' } });
  assert.throws(() => containerSpec(containerInput(apparmor)), /AppArmor/);
  assert.doesNotThrow(() => containerSpec(containerInput(apparmor, { node: { ...NODE_V1, apparmor: true } })));
  assert.throws(() => containerSpec(containerInput(sc({ selinuxOptions: { type: 'spc_t' } }))), /SELinux/);
  assert.doesNotThrow(() => containerSpec(containerInput(sc({ apparmorProfile: 'runtime/default' }))));
});

test('pause: no capabilities, no_new_privs, the pod seccomp profile', () => {
  const spec = pauseSpec(pauseInput(podRequest('p', { linux: { securityContext: { seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault } } } })));
  assert.deepEqual(spec.process.capabilities, { bounding: [], effective: [], permitted: [] });
  assert.equal(spec.process.noNewPrivileges, true);
  assert.equal((spec.linux.seccomp as Seccomp).defaultAction, 'SCMP_ACT_ALLOW');
  assert.equal(pauseSpec(pauseInput(podRequest('p'))).linux.seccomp, undefined);
});
