// Files cricket reads out of an image (/etc/passwd, /etc/group for run_as_username) are hostile
// input: a FIFO, a device node or an oversized file there fails that one CreateContainer at once
// with a clear error naming the file (never a hang holding the pod), symlinks resolve inside the
// image as if chrooted, and the pod keeps working afterwards.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { cricketCli, startCricket, waitFor, type TestDaemon } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import { isMonitorCommand, processesWhere } from '../harness/processes.js';
import { writeImageLayout, type TarSpec } from '../harness/registry.js';
import type { Message } from '../client/cri.js';

let d: TestDaemon;
let pod: Message;
let podId = '';

const etc: TarSpec = { path: 'etc/', type: 'dir', mode: 0o755 };
const IMAGES: Record<string, TarSpec[]> = {
  'cricket.local/fifo-group:1': [etc, { path: 'etc/group', type: 'fifo', mode: 0o644 }],
  'cricket.local/fifo-passwd:1': [etc, { path: 'etc/passwd', type: 'fifo', mode: 0o644 }],
  'cricket.local/device-passwd:1': [etc, { path: 'etc/passwd', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 }],
  'cricket.local/huge-passwd:1': [etc, { path: 'etc/passwd', type: 'file', mode: 0o644, data: Buffer.concat([Buffer.from('root:x:0:0:root:/root:/bin/sh\n'), Buffer.alloc(5 * 1024 * 1024, '#')]) }],
  // Links that would leave the root on the host land inside the image instead.
  'cricket.local/linked-passwd:1': [
    etc,
    { path: 'etc/passwd', type: 'symlink', linkname: '../../../../../../../etc/shadow' },
    { path: 'etc/shadow', type: 'file', mode: 0o644, data: Buffer.from('app:x:4242:4343::/:/bin/sh\n') },
    { path: 'etc/group', type: 'symlink', linkname: '/proc/self/status' },
  ],
};

before(async () => {
  d = await startCricket();
  for (const [ref, entries] of Object.entries(IMAGES)) {
    const layout = join(d.dir, `layout-${ref.replace(/[^a-z0-9-]/g, '_')}`);
    await writeImageLayout(layout, ref, entries);
    cricketCli(['image', 'import', layout, '--name', ref, '--root', d.root]);
  }
  pod = podConfig(d, 'image-files');
  podId = (await runPod(d, pod)).id;
});

after(async () => {
  await d?.stop();
});

const create = (name: string, image: string, username: string) => d.cri.runtime.call<{ container_id: string }>('CreateContainer', {
  pod_sandbox_id: podId,
  config: containerConfig(name, ['true'], { image: { image }, linux: { security_context: { run_as_username: username } } }),
  sandbox_config: pod,
}, { deadlineMs: 30_000 });

const refused = (code: number, re: RegExp) => (err: { code: number; details: string }) => {
  assert.equal(err.code, code, err.details);
  assert.match(err.details, re);
  return true;
};

test('a FIFO at /etc/group fails CreateContainer at once, naming the file', async () => {
  const t = Date.now();
  await assert.rejects(create('fifo', 'cricket.local/fifo-group:1', 'root'), refused(status.FAILED_PRECONDITION, /\/etc\/group: a FIFO, not a regular file/));
  assert.ok(Date.now() - t < 20_000, 'no waiting on the FIFO');
});

test('a FIFO at /etc/passwd is refused for a numeric user too (runc would block on it later)', async () => {
  const config = containerConfig('fifo-numeric', ['true'], { image: { image: 'cricket.local/fifo-passwd:1' }, linux: { security_context: { run_as_user: { value: 1000 }, run_as_group: { value: 1000 } } } });
  await assert.rejects(
    d.cri.runtime.call('CreateContainer', { pod_sandbox_id: podId, config, sandbox_config: pod }, { deadlineMs: 30_000 }),
    refused(status.FAILED_PRECONDITION, /\/etc\/passwd: a FIFO, not a regular file/),
  );
});

test('a device node at /etc/passwd is not read', async () => {
  await assert.rejects(create('device', 'cricket.local/device-passwd:1', 'root'), refused(status.FAILED_PRECONDITION, /\/etc\/passwd: a character device, not a regular file/));
});

test('an /etc/passwd over the size cap is refused', async () => {
  await assert.rejects(create('huge', 'cricket.local/huge-passwd:1', 'root'), refused(status.FAILED_PRECONDITION, /\/etc\/passwd: \d+ bytes is more than the \d+ allowed/));
});

test('symlinks leading out of the root resolve inside the image, never on the host', async () => {
  // The host's /etc/shadow has no "app"; the image's has, with uid 4242 and gid 4343.
  const { container_id } = await create('linked', 'cricket.local/linked-passwd:1', 'app');
  const spec = JSON.parse(readFileSync(join(d.stateDir, 'containers', container_id, 'config.json'), 'utf8')) as { process: { user: { uid: number; gid: number } } };
  assert.deepEqual([spec.process.user.uid, spec.process.user.gid], [4242, 4343]);
  await d.cri.runtime.call('RemoveContainer', { container_id });
  // Nothing of the host leaks in through the link either: root is not a user of this image.
  await assert.rejects(create('linked-root', 'cricket.local/linked-passwd:1', 'root'), refused(status.INVALID_ARGUMENT, /user "root" is not in the image's \/etc\/passwd/));
});

test('the refused containers left no conmon waiting', () => {
  // conmon starts before the image's files are read; a refusal must end it.
  const bundles = join(d.stateDir, 'containers');
  const waiting = processesWhere((argv) => isMonitorCommand(argv) && argv.some((arg) => arg.startsWith(bundles)));
  assert.deepEqual(waiting, []);
});

test('the pod still works after the refused containers', async () => {
  const cid = await startContainer(d, podId, pod, containerConfig('after', ['sh', '-c', 'echo still working; id -u'], { linux: { security_context: { run_as_username: 'www' } } }));
  const logPath = join(pod.log_directory as string, 'after/0.log');
  await waitFor('the container\'s output', () => (existsSync(logPath) && /still working[\s\S]*1000/.test(readFileSync(logPath, 'utf8')) ? true : undefined), 20_000);
  await d.cri.runtime.call('StopContainer', { container_id: cid, timeout: 0 });
  await d.cri.runtime.call('RemoveContainer', { container_id: cid });
});
