// Record files written through spares: no new inode per write, nothing left where it should not be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syscalls } from '../../src/process/syscalls.js';
import { rewriteFileAtomic } from '../../src/store/atomic-file.js';
import { RecordStore } from '../../src/store/record-store.js';
import { SpareFiles } from '../../src/store/spare-files.js';

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cricket-spare-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a rewrite fills the spare and trades places: the spare keeps the old content', async (t) => {
  if (!syscalls()) return t.skip('the native addon is not built');
  const dir = scratch(t);
  const file = join(dir, 'r.json');
  const spare = join(dir, '.spare-x-0');
  // No record yet: the spare becomes it.
  assert.equal(await rewriteFileAtomic(file, 'first', spare), false);
  assert.equal(readFileSync(file, 'utf8'), 'first');
  assert.deepEqual(readdirSync(dir), ['r.json']);
  const firstInode = statSync(file).ino;
  writeFileSync(spare, 'leftover bytes, longer than what comes');
  const spareInode = statSync(spare).ino;
  assert.equal(await rewriteFileAtomic(file, 'second', spare, { fsync: true }), true);
  assert.equal(readFileSync(file, 'utf8'), 'second');
  assert.equal(readFileSync(spare, 'utf8'), 'first');
  assert.equal(statSync(file).ino, spareInode);
  assert.equal(await rewriteFileAtomic(file, 'third', spare), true);
  assert.equal(statSync(file).ino, firstInode, 'two inodes take turns');
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test('a spare that is not a regular file of its own is refused, and nothing is written through it', async (t) => {
  if (!syscalls()) return t.skip('the native addon is not built');
  const dir = scratch(t);
  const file = join(dir, 'r.json');
  const outside = join(dir, 'outside');
  writeFileSync(file, 'record');
  writeFileSync(outside, 'not ours to change');
  const spare = join(dir, '.spare-x-0');
  symlinkSync(outside, spare);
  await assert.rejects(rewriteFileAtomic(file, 'evil', spare), { code: 'ELOOP' });
  rmSync(spare);
  linkSync(outside, spare);
  await assert.rejects(rewriteFileAtomic(file, 'evil', spare), { code: 'EINVAL' });
  rmSync(spare);
  // A FIFO nobody reads fails at once instead of blocking the writer.
  execFileSync('mkfifo', [spare]);
  await assert.rejects(rewriteFileAtomic(file, 'evil', spare), { code: 'ENXIO' });
  assert.equal(readFileSync(file, 'utf8'), 'record');
  assert.equal(readFileSync(outside, 'utf8'), 'not ours to change');
  const sys = syscalls()!;
  assert.throws(() => sys.rewriteFile(file, spare, 'text' as unknown as Uint8Array, 0o600, false), TypeError);
  assert.throws(() => sys.rewriteFile(file, spare, Buffer.alloc(1), 0o170000, false), TypeError);
  assert.throws(() => (sys.rewriteFile as unknown as (...a: unknown[]) => unknown)(file, spare, Buffer.alloc(1), 0o600, false, false), TypeError);
});

test('spares are taken, given back and retired up to a limit', async (t) => {
  const dir = scratch(t);
  const spares = new SpareFiles(dir, 2);
  const a = spares.take();
  const b = spares.take();
  assert.notEqual(a, b);
  assert.ok(SpareFiles.isSpare(a.slice(dir.length + 1)));
  assert.ok(!SpareFiles.isSpare('abc.json') && !SpareFiles.isSpare('.abc.json.tmp-1-ff'));
  for (const name of ['x.json', 'y.json', 'z.json']) writeFileSync(join(dir, name), `{"secret":"${name}"}`);
  await spares.retire(join(dir, 'x.json'));
  await spares.retire(join(dir, 'y.json'));
  assert.equal(spares.size, 2);
  // Full: the third record file is deleted, not kept.
  await spares.retire(join(dir, 'z.json'));
  const left = readdirSync(dir);
  assert.equal(left.length, 2);
  for (const name of left) {
    assert.ok(SpareFiles.isSpare(name), name);
    assert.equal(statSync(join(dir, name)).size, 0, 'a retired record keeps none of its content');
  }
  await assert.rejects(spares.retire(join(dir, 'gone.json')), { code: 'ENOENT' });
});

test('records that come and go reuse the same inodes, and a reopened store keeps its spares', async (t) => {
  if (!syscalls()) return t.skip('the native addon is not built');
  const dir = join(scratch(t), 'recs');
  const store = await RecordStore.open<{ id: string; n: number }>(dir);
  const inodes = (): Set<number> => new Set(readdirSync(dir).map((n) => statSync(join(dir, n)).ino));
  const wave = async (tag: string): Promise<void> => {
    const ids = Array.from({ length: 10 }, (_, i) => `${tag}${i}`);
    await Promise.all(ids.map((id) => store.create({ id, n: 0 })));
    for (let k = 1; k <= 3; k++) await Promise.all(ids.map((id) => store.update(id, (cur) => ({ ...cur, n: k }))));
    await Promise.all(ids.map((id) => store.delete(id)));
  };
  await wave('a');
  const seen = inodes();
  await wave('b');
  await wave('c');
  for (const ino of inodes()) assert.ok(seen.has(ino), 'a later wave made a new file');
  assert.ok(seen.size <= 20, `${seen.size} files for 10 records at a time`);
  await store.create({ id: 'kept', n: 7 });
  const reopened = await RecordStore.open<{ id: string; n: number }>(dir);
  assert.deepEqual([...reopened.all()].map((r) => r.id), ['kept']);
  await reopened.update('kept', (cur) => ({ ...cur, n: 8 }));
  assert.ok(seen.has(statSync(join(dir, 'kept.json')).ino), 'the reopened store wrote through a spare it found');
  assert.equal(JSON.parse(readFileSync(join(dir, 'kept.json'), 'utf8')).n, 8);
});
