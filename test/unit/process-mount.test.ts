// Mounts made by the daemon itself (the addon's mount/umount), as rootfs and netns set-up use them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bindMount, mountOverlay, unmount } from '../../src/process/mount.js';
import { syscalls } from '../../src/process/syscalls.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !syscalls() ? 'the addon is not built' : false;

const mountedAt = (target: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === target);

test('a read-only bind, an overlay and their unmounts, without a helper program', { skip }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cricket-mount-'));
  t.after(async () => {
    for (const m of ['ro', 'merged']) await unmount(path.join(dir, m), true).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  for (const d of ['src', 'ro', 'lower', 'upper', 'work', 'merged']) mkdirSync(path.join(dir, d));
  writeFileSync(path.join(dir, 'src', 'f'), 'bound');
  writeFileSync(path.join(dir, 'lower', 'l'), 'lower');

  await bindMount(path.join(dir, 'src'), path.join(dir, 'ro'), true);
  assert.equal(readFileSync(path.join(dir, 'ro', 'f'), 'utf8'), 'bound');
  assert.throws(() => writeFileSync(path.join(dir, 'ro', 'g'), 'x'), /EROFS/);
  await unmount(path.join(dir, 'ro'));
  assert.equal(mountedAt(path.join(dir, 'ro')).length, 0);

  const opts = `lowerdir=${path.join(dir, 'lower')},upperdir=${path.join(dir, 'upper')},workdir=${path.join(dir, 'work')}`;
  await mountOverlay(path.join(dir, 'merged'), opts);
  assert.match(mountedAt(path.join(dir, 'merged'))[0] ?? '', / - overlay /);
  writeFileSync(path.join(dir, 'merged', 'new'), 'up');
  assert.equal(readFileSync(path.join(dir, 'upper', 'new'), 'utf8'), 'up');
  await unmount(path.join(dir, 'merged'));
  assert.equal(mountedAt(path.join(dir, 'merged')).length, 0);
});

test('a failing mount or unmount names the call, the path and the errno', { skip }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cricket-mount-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(unmount(dir), (err: Error & { code?: string }) => err.code === '22' && err.message.includes(`umount ${dir}`));
  await assert.rejects(bindMount(path.join(dir, 'missing'), dir, true), (err: Error & { code?: string }) => err.code === '2' && /mount bind on .*No such file/.test(err.message));
  await assert.rejects(mountOverlay(dir, 'lowerdir=/nonexistent-layer'), /mount overlay on/);
  assert.equal(mountedAt(dir).length, 0);
});
