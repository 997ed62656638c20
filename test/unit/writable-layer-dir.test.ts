// The writable layers' directory: marked for ext4 to spread its subdirectories over the disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syscalls } from '../../src/process/syscalls.js';
import { spreadWritableLayers } from '../../src/container/writable-layer-dir.js';

const EXT4_MAGIC = 0xef53;

test('the top-directory flag is set on ext4, reported absent elsewhere, and never through a symlink', (t) => {
  const sys = syscalls();
  if (!sys) return t.skip('the native addon is not built');
  const dir = mkdtempSync(join(tmpdir(), 'cricket-topdir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rw = join(dir, 'rw');
  mkdirSync(rw);
  const ext4 = statfsSync(rw).type === EXT4_MAGIC;
  assert.equal(sys.markTopDir(rw), ext4);
  if (ext4) assert.match(execFileSync('lsattr', ['-d', rw], { encoding: 'utf8' }), /^\S*T\S* /);
  // Again: already set, still true.
  assert.equal(sys.markTopDir(rw), ext4);
  // tmpfs has no such flag.
  const shm = mkdtempSync('/dev/shm/cricket-topdir-');
  t.after(() => rmSync(shm, { recursive: true, force: true }));
  assert.equal(sys.markTopDir(shm), false);
  const link = join(dir, 'link');
  symlinkSync(rw, link);
  assert.throws(() => sys.markTopDir(link), /open/);
  assert.throws(() => sys.markTopDir(join(dir, 'missing')), /open/);
  assert.throws(() => (sys.markTopDir as unknown as () => boolean)(), TypeError);
  // The daemon's wrapper never throws: a failure is logged.
  assert.doesNotThrow(() => spreadWritableLayers(join(dir, 'missing')));
});
