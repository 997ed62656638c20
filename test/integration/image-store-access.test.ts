// The image store and the writable layers are root's alone: a local user of the node (uid 65534
// here, through setpriv) can neither list the layers nor reach, by a path it can compute, an
// image's set-uid-root binary or its device nodes; a store left open by an older version is
// closed when the daemon starts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cricketCli, useCricket } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import { writeImageLayout } from '../harness/registry.js';

const d = useCricket();
const IMAGE = 'cricket.local/setuid:1';

/**
 * Runs a command as nobody (uid and gid 65534, no supplementary groups). A shell running as
 * nobody execs it, so that the path is looked up with nobody's rights, not setpriv's.
 */
function asNobody(cmd: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--', '/bin/sh', '-c', 'exec "$@"', 'sh', ...cmd], { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The store's directories that must be root's alone. */
const storeDirs = () => ['images', 'images/layers', 'images/blobs', 'images/blobs/sha256', 'images/tmp', 'rw'].map((p) => join(d.root, p));

let topLayer = '';
const EXT4_MAGIC = 0xef53;

test('an image with a set-uid-root binary and a device node is imported', async () => {
  const layout = join(d.dir, 'setuid-layout');
  await writeImageLayout(layout, IMAGE, [
    { path: 'bin/', type: 'dir', mode: 0o755 },
    // A real program: run set-uid root, `id -u` prints the effective uid.
    { path: 'bin/suid-id', type: 'file', mode: 0o4755, uid: 0, gid: 0, data: readFileSync('/usr/bin/id') },
    { path: 'dev/', type: 'dir', mode: 0o755 },
    { path: 'dev/full-copy', type: 'char', mode: 0o666, devmajor: 1, devminor: 7 },
  ]);
  cricketCli(['image', 'import', layout, '--name', IMAGE, '--root', d.root]);
  const index = JSON.parse(readFileSync(join(d.root, 'images', 'index.json'), 'utf8')) as { images: Array<{ repoTags: string[]; layers: string[] }> };
  const record = index.images.find((i) => i.repoTags.includes(IMAGE));
  assert.ok(record, 'imported');
  topLayer = join(d.root, 'images', 'layers', record.layers[record.layers.length - 1]!.slice('sha256:'.length), 'fs');
  // As root the files are there, with their modes: the image is intact.
  assert.equal(statSync(join(topLayer, 'bin/suid-id')).mode & 0o7777, 0o4755);
  assert.ok(statSync(join(topLayer, 'dev/full-copy')).isCharacterDevice());
  // The daemon's directories as an operator's /var/lib would hold them: open to traversal.
  chmodSync(d.dir, 0o755);
});

test('a local user reaches nothing of the store: no listing, no set-uid binary, no device node', () => {
  assert.ok(topLayer, 'the image of the first test');
  const ls = asNobody(['ls', join(d.root, 'images', 'layers')]);
  assert.notEqual(ls.status, 0, `listing the layers succeeded: ${ls.stdout}`);
  const st = asNobody(['stat', join(topLayer, 'bin/suid-id')]);
  assert.notEqual(st.status, 0, `stat of the set-uid binary succeeded: ${st.stdout}`);
  const run = asNobody([join(topLayer, 'bin/suid-id'), '-u']);
  assert.notEqual(run.status, 0, `the image's set-uid binary ran as uid 65534 and printed euid ${run.stdout.trim()}`);
  assert.doesNotMatch(run.stdout, /^0$/m);
  const dev = asNobody(['head', '-c', '1', join(topLayer, 'dev/full-copy')]);
  assert.notEqual(dev.status, 0, 'the image\'s device node opened');
  const index = asNobody(['cat', join(d.root, 'images', 'index.json')]);
  assert.notEqual(index.status, 0, 'the image index was readable');
  for (const dir of storeDirs()) assert.equal(statSync(dir).mode & 0o777, 0o700, dir);
});

test('a container\'s writable layer is out of reach too', async () => {
  const pod = podConfig(d, 'rw-access');
  const { id: podId } = await runPod(d, pod);
  try {
    const cid = await startContainer(d, podId, pod, containerConfig('app', ['sh', '-c', 'echo changed > /changed; exec sleep 600'], { image: { image: IMAGE } }));
    const upper = join(d.root, 'rw', cid, 'upper');
    assert.ok(statSync(upper).isDirectory());
    // On ext4 the daemon marked the layers' directory for ext4 to spread them over the disk.
    if (statfsSync(join(d.root, 'rw')).type === EXT4_MAGIC) {
      assert.match(spawnSync('lsattr', ['-d', join(d.root, 'rw')], { encoding: 'utf8' }).stdout, /^\S*T\S* /);
    }
    const ls = asNobody(['ls', upper]);
    assert.notEqual(ls.status, 0, `listing the writable layer succeeded: ${ls.stdout}`);
    await d.cri.runtime.call('StopContainer', { container_id: cid, timeout: 0 });
  } finally {
    await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: podId });
    await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
  }
});

test('a store left open by an older version is closed at start-up', async () => {
  await d.kill();
  for (const dir of storeDirs()) chmodSync(dir, 0o755);
  await d.restart();
  for (const dir of storeDirs()) assert.equal(statSync(dir).mode & 0o777, 0o700, dir);
  const st = asNobody(['stat', join(topLayer, 'bin/suid-id')]);
  assert.notEqual(st.status, 0, 'the set-uid binary is reachable after a restart');
});
