import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { syscalls } from '../../src/process/syscalls.js';
import { writeFileAtomic } from '../../src/store/atomic-file.js';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'cricket-replace-'));
}

test('a replaced file has the new bytes and the mode asked for, and no temp file stays', async () => {
  const dir = scratch();
  try {
    const file = join(dir, 'state.json');
    writeFileSync(file, 'old content that is longer than the new one');
    await writeFileAtomic(file, '{"a":1}');
    assert.equal(readFileSync(file, 'utf8'), '{"a":1}');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const bytes = new Uint8Array(300_000).map((_, i) => i % 251);
    await writeFileAtomic(join(dir, 'blob'), bytes, { mode: 0o640, fsync: false, syncDir: true });
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'blob'))), bytes);
    assert.equal(statSync(join(dir, 'blob')).mode & 0o777, 0o640 & ~process.umask());
    // A view into a larger buffer writes only its own bytes.
    const big = Buffer.from('xxxxHELLOxxxx');
    await writeFileAtomic(join(dir, 'view'), big.subarray(4, 9));
    assert.equal(readFileSync(join(dir, 'view'), 'utf8'), 'HELLO');
    await writeFileAtomic(join(dir, 'empty'), '');
    assert.equal(readFileSync(join(dir, 'empty'), 'utf8'), '');
    assert.deepEqual(readdirSync(dir).sort(), ['blob', 'empty', 'state.json', 'view']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed replacement names the step, the file and the errno, and removes its temp file', async () => {
  const dir = scratch();
  try {
    mkdirSync(join(dir, 'taken', 'inside'), { recursive: true });
    const err = await writeFileAtomic(join(dir, 'taken'), 'x').then(
      () => assert.fail('a file was renamed over a directory that is not empty'),
      (e: NodeJS.ErrnoException) => e,
    );
    assert.match(err.code ?? '', /^(EISDIR|ENOTEMPTY|EEXIST)$/);
    assert.ok(err.message.includes(join(dir, 'taken')), err.message);
    assert.deepEqual(readdirSync(dir), ['taken']);
    // A directory that does not exist fails at the first step.
    const missing = await writeFileAtomic(join(dir, 'no-such-dir', 'f'), 'x').then(
      () => assert.fail('wrote into a missing directory'),
      (e: NodeJS.ErrnoException) => e,
    );
    assert.equal(missing.code, 'ENOENT');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the addon never follows a symlink at the temp path and rejects bad arguments', async (t) => {
  const sys = syscalls();
  if (!sys) return t.skip('the native addon is not built');
  const dir = scratch();
  try {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'untouched');
    symlinkSync(victim, join(dir, 'tmp-link'));
    await assert.rejects(sys.replaceFile(join(dir, 'target'), join(dir, 'tmp-link'), Buffer.from('evil'), 0o600, false, false), /EEXIST|File exists/);
    assert.equal(readFileSync(victim, 'utf8'), 'untouched');
    assert.throws(() => sys.replaceFile(join(dir, 'target'), join(dir, 'tmp'), 'text' as unknown as Uint8Array, 0o600, false, false), TypeError);
    assert.throws(() => sys.replaceFile(join(dir, 'target'), join(dir, 'tmp'), new Uint16Array(2) as unknown as Uint8Array, 0o600, false, false), TypeError);
    assert.throws(() => sys.replaceFile(join(dir, 'target'), join(dir, 'tmp'), Buffer.alloc(1), 0o170000, false, false), TypeError);
    assert.throws(() => sys.replaceFile('a\0b', join(dir, 'tmp'), Buffer.alloc(1), 0o600, false, false), TypeError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
