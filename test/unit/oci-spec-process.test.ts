// Process rules: command/args over the image's Entrypoint/Cmd, environment, working directory,
// user, terminal; and the pause process's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerSpec } from '../../src/oci/spec/container.js';
import { pauseSpec } from '../../src/oci/spec/pause.js';
import { containerArgs, containerEnv } from '../../src/oci/spec/process.js';
import { BUSYBOX_IMAGE, containerInput, pauseInput, podRequest, request } from './oci-spec-fixtures.js';

const image = { ...BUSYBOX_IMAGE, entrypoint: ['/entry'], cmd: ['--default'] };

test('command replaces Entrypoint and Cmd; args alone replace Cmd only; neither keeps both', () => {
  assert.deepEqual(containerArgs(image, ['run'], ['a']), ['run', 'a']);
  assert.deepEqual(containerArgs(image, ['run'], []), ['run']);
  assert.deepEqual(containerArgs(image, [], ['a', 'b']), ['/entry', 'a', 'b']);
  assert.deepEqual(containerArgs(image, [], []), ['/entry', '--default']);
  assert.throws(() => containerArgs({ ...image, entrypoint: [], cmd: [] }, [], []), /no command/);
  const spec = containerSpec(containerInput(request('x', [], { args: ['-c', 'true'] }), { image }));
  assert.deepEqual(spec.process.args, ['/entry', '-c', 'true']);
});

test('environment: PATH and HOSTNAME, then the image, then the request, each by name', () => {
  const env = containerEnv({ ...image, env: ['PATH=/img', 'A=img', 'B=img', 'broken'] }, [{ key: 'B', value: 'req' }, { key: 'C', value: 'x=y' }], 'pod-1');
  assert.deepEqual(env, ['PATH=/img', 'HOSTNAME=pod-1', 'A=img', 'B=req', 'C=x=y']);
  assert.throws(() => containerEnv(image, [{ key: '', value: 'v' }], 'h'), /empty name/);
  const spec = containerSpec(containerInput(request('x', ['true'], { envs: [{ key: 'K', value: Buffer.from('v\u00e9') }] })));
  assert.ok(spec.process.env.includes('K=v\u00e9'), spec.process.env.join(' '));
  assert.ok(spec.process.env.includes('HOSTNAME=two-containers'));
});

test('working directory: the request, else the image, else /', () => {
  assert.equal(containerSpec(containerInput(request('x', ['true'], { workingDir: '/req' }), { image: { ...image, workingDir: '/img' } })).process.cwd, '/req');
  assert.equal(containerSpec(containerInput(request('x', ['true']), { image: { ...image, workingDir: '/img' } })).process.cwd, '/img');
  assert.equal(containerSpec(containerInput(request('x', ['true']), { image: { ...image, workingDir: '' } })).process.cwd, '/');
});

test('user: the resolved user as given; no additionalGids key when there are none', () => {
  const spec = containerSpec(containerInput(request('x', ['true']), { user: { uid: 1000, gid: 100, additionalGids: [] } }));
  assert.deepEqual(spec.process.user, { uid: 1000, gid: 100, additionalGids: undefined });
  assert.ok(!('additionalGids' in JSON.parse(JSON.stringify(spec.process.user))));
  const withGroups = containerSpec(containerInput(request('x', ['true']), { user: { uid: 1, gid: 2, additionalGids: [3, 4] } }));
  assert.deepEqual(withGroups.process.user.additionalGids, [3, 4]);
});

test('terminal follows tty; root follows readonly_rootfs', () => {
  const spec = containerSpec(containerInput(request('x', ['true'], { tty: true, linux: { securityContext: { readonlyRootfs: true } } })));
  assert.equal(spec.process.terminal, true);
  assert.equal(spec.root.readonly, true);
  assert.equal(containerSpec(containerInput(request('x', ['true']))).process.terminal, false);
});

test('pause: the image command, a read-only root, the pod user or the image USER or 65535', () => {
  const plain = pauseSpec(pauseInput(podRequest('p')));
  assert.deepEqual(plain.process.args, ['/pause']);
  assert.equal(plain.root.readonly, true);
  assert.deepEqual(plain.process.user, { uid: 65535, gid: 65535, additionalGids: undefined });
  const asUser = pauseSpec(pauseInput(podRequest('p', { linux: { securityContext: { runAsUser: { value: 1000n }, runAsGroup: { value: 2000n }, supplementalGroups: [5n] } } })));
  assert.deepEqual(asUser.process.user, { uid: 1000, gid: 2000, additionalGids: [5] });
  const noUser = pauseSpec(pauseInput(podRequest('p'), { image: { ...BUSYBOX_IMAGE, entrypoint: ['/pause'], user: '' } }));
  assert.deepEqual(noUser.process.user, { uid: 65535, gid: 65535, additionalGids: undefined });
});
