import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CricketError } from '../../src/errors.js';
import { chainIds, sha256Digest } from '../../src/image/digest.js';
import { findInLayers } from '../../src/image/layers.js';
import { fileBlob, readLayerMeta, unpackLayer } from '../../src/image/unpack.js';

/** Entries for images/lib/tar.mjs, the deterministic (and unfiltered) tar writer. */
interface TarSpec {
  path: string;
  type?: 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  data?: Buffer;
}
interface TarLib {
  tarArchive(entries: TarSpec[]): Buffer;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
let tar: TarLib;
let work: string;

before(async () => {
  tar = (await import(pathToFileURL(join(repoRoot, 'images/lib/tar.mjs')).href)) as TarLib;
  work = mkdtempSync(join(tmpdir(), 'cricket-unpack-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
/** Writes the archive as a blob and unpacks it into a fresh layers dir; returns paths and result. */
async function unpack(entries: TarSpec[], opts: { gzip?: boolean; diffId?: string; digest?: string } = {}) {
  const dir = join(work, `case-${++n}`);
  mkdirSync(join(dir, 'layers'), { recursive: true });
  const plain = tar.tarArchive(entries);
  const blob = opts.gzip ? gzipSync(plain) : plain;
  const blobPath = join(dir, 'blob');
  writeFileSync(blobPath, blob);
  const diffId = opts.diffId ?? sha256Digest(plain);
  const dest = join(dir, 'layers', 'layer');
  const result = unpackLayer({ ...fileBlob(blobPath), diffId, chainId: diffId, dest, digest: opts.digest ?? sha256Digest(blob), size: blob.length });
  return { dir, dest, fs: join(dest, 'fs'), layersDir: join(dir, 'layers'), result };
}

const xattr = (path: string, name: string): string | undefined => {
  try {
    return execFileSync('getfattr', ['--only-values', '-n', name, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
};

const refused = (err: unknown): boolean => err instanceof CricketError && err.kind === 'invalid-argument';

describe('layer unpacking', () => {
  it('keeps modes, ownership, times, symlinks and hard links, and counts each inode once', async () => {
    const data = Buffer.from('#!/bin/sh\necho hi\n');
    const u = await unpack([
      { path: 'bin/', type: 'dir', mode: 0o755 },
      { path: 'bin/tool', data, mode: 0o4755, uid: 0, gid: 0, mtime: 1_600_000_000 },
      { path: 'bin/alias', type: 'hardlink', linkname: 'bin/tool' },
      { path: 'bin/link', type: 'symlink', linkname: 'tool' },
      { path: 'home/www/', type: 'dir', mode: 0o750, uid: 1000, gid: 1000 },
      { path: 'home/www/index.html', data: Buffer.from('x'), mode: 0o640, uid: 1000, gid: 1001 },
      { path: 'abs-link', type: 'symlink', linkname: '/etc/passwd' },
      { path: 'dev/fifo', type: 'fifo', mode: 0o600 },
    ], { gzip: true });
    const meta = await u.result;
    const tool = statSync(join(u.fs, 'bin/tool'));
    assert.equal(tool.mode & 0o7777, 0o4755);
    assert.equal(tool.mtimeMs, 1_600_000_000_000);
    assert.equal(statSync(join(u.fs, 'bin/alias')).ino, tool.ino);
    assert.equal(readlinkSync(join(u.fs, 'bin/link')), 'tool');
    assert.equal(readlinkSync(join(u.fs, 'abs-link')), '/etc/passwd');
    const www = statSync(join(u.fs, 'home/www'));
    assert.equal(www.mode & 0o7777, 0o750);
    assert.equal(www.uid, 1000);
    const index = statSync(join(u.fs, 'home/www/index.html'));
    assert.deepEqual([index.uid, index.gid, index.mode & 0o777], [1000, 1001, 0o640]);
    assert.ok(lstatSync(join(u.fs, 'dev/fifo')).isFIFO());
    assert.equal(statSync(join(u.fs, 'home')).mode & 0o777, 0o755, 'implicit parents are 0755');
    assert.equal(meta.size, data.length + 1);
    assert.deepEqual(await readLayerMeta(u.dest), meta);
  });

  it('turns OCI whiteouts into overlayfs whiteouts and opaque directories', async () => {
    const u = await unpack([
      { path: 'etc/', type: 'dir' },
      { path: 'etc/.wh.group', data: Buffer.alloc(0) },
      { path: 'var/lib/.wh..wh..opq', data: Buffer.alloc(0) },
      { path: 'var/lib/fresh', data: Buffer.from('new') },
      { path: 'keep', data: Buffer.from('same layer') },
      { path: '.wh.keep', data: Buffer.alloc(0) },
      { path: '.wh..wh.plnk/123', data: Buffer.alloc(0) },
    ]);
    const meta = await u.result;
    const wh = lstatSync(join(u.fs, 'etc/group'));
    assert.ok(wh.isCharacterDevice(), 'whiteout is a character device');
    assert.equal(wh.rdev, 0, 'whiteout is device 0:0');
    assert.equal(existsSync(join(u.fs, 'etc/.wh.group')), false);
    assert.equal(xattr(join(u.fs, 'var/lib'), 'trusted.overlay.opaque'), 'y');
    assert.equal(existsSync(join(u.fs, 'var/lib/.wh..wh..opq')), false);
    assert.equal(readFileSync(join(u.fs, 'keep'), 'utf8'), 'same layer', 'a whiteout hides lower layers only');
    assert.deepEqual(meta.opaque, ['var/lib']);
  });

  it('lets a later entry replace an earlier one, and a directory merge into a directory', async () => {
    const u = await unpack([
      { path: 'a', type: 'symlink', linkname: '/etc' },
      { path: 'a/', type: 'dir', mode: 0o700 },
      { path: 'a/f', data: Buffer.from('1') },
      { path: 'a/', type: 'dir', mode: 0o755 },
      { path: 'b', data: Buffer.from('file') },
      { path: 'b', type: 'symlink', linkname: 'a/f' },
    ]);
    await u.result;
    assert.ok(lstatSync(join(u.fs, 'a')).isDirectory());
    assert.equal(readFileSync(join(u.fs, 'a/f'), 'utf8'), '1');
    assert.equal(statSync(join(u.fs, 'a')).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(u.fs, 'b')), 'a/f');
  });

  const escapes: Array<[string, (outside: string) => TarSpec[]]> = [
    ['a ../ path', () => [{ path: 'ok', data: Buffer.from('1') }, { path: '../../escaped', data: Buffer.from('x') }]],
    ['a ../ in the middle', () => [{ path: 'a/../../escaped', data: Buffer.from('x') }]],
    ['an absolute path', (outside) => [{ path: `${outside}/escaped`, data: Buffer.from('x') }]],
    ['a hard link to an absolute path', () => [{ path: 'passwd', type: 'hardlink', linkname: '/etc/passwd' }]],
    ['a hard link with ..', () => [{ path: 'passwd', type: 'hardlink', linkname: '../../../../etc/passwd' }]],
    ['a write through an absolute symlink', (outside) => [
      { path: 'evil', type: 'symlink', linkname: outside },
      { path: 'evil/escaped', data: Buffer.from('x') },
    ]],
    ['a write through a relative symlink', () => [
      { path: 'evil', type: 'symlink', linkname: '../../..' },
      { path: 'evil/escaped', data: Buffer.from('x') },
    ]],
    ['a directory through a symlink', (outside) => [
      { path: 'evil', type: 'symlink', linkname: outside },
      { path: 'evil/sub/', type: 'dir' },
    ]],
    ['a whiteout through a symlink', (outside) => [
      { path: 'evil', type: 'symlink', linkname: outside },
      { path: 'evil/.wh.victim', data: Buffer.alloc(0) },
    ]],
    ['a hard link through a symlink', () => [
      { path: 'etc', type: 'symlink', linkname: '/etc' },
      { path: 'passwd', type: 'hardlink', linkname: 'etc/passwd' },
    ]],
    ['a symlink replaced deeper in the tree', (outside) => [
      { path: 'd/', type: 'dir' },
      { path: 'd/x', data: Buffer.from('1') },
      { path: 'd', type: 'symlink', linkname: outside },
      { path: 'd/escaped', data: Buffer.from('x') },
    ]],
  ];
  for (const [what, entries] of escapes) {
    it(`refuses ${what}, leaving nothing behind`, async () => {
      const outside = join(work, `outside-${++n}`);
      mkdirSync(outside);
      writeFileSync(join(outside, 'victim'), 'untouched');
      const u = await unpack(entries(outside));
      await assert.rejects(u.result, refused);
      assert.deepEqual(readdirSync(outside).sort(), ['victim']);
      assert.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'untouched');
      assert.deepEqual(readdirSync(u.layersDir), [], 'no layer and no temp dir remain');
      assert.equal(existsSync(join(u.dir, 'escaped')), false);
      assert.equal(existsSync(join(work, 'escaped')), false);
    });
  }

  it('refuses a blob whose digest is not the one expected', async () => {
    const u = await unpack([{ path: 'f', data: Buffer.from('1') }], { gzip: true, digest: sha256Digest('something else') });
    await assert.rejects(u.result, (err: unknown) => refused(err) && /blob digest mismatch/.test((err as Error).message));
    assert.deepEqual(readdirSync(u.layersDir), []);
  });

  it('refuses a layer whose uncompressed digest is not the diff id', async () => {
    const u = await unpack([{ path: 'f', data: Buffer.from('1') }], { gzip: true, diffId: sha256Digest('other') });
    await assert.rejects(u.result, (err: unknown) => refused(err) && /uncompressed digest mismatch/.test((err as Error).message));
    assert.deepEqual(readdirSync(u.layersDir), []);
  });

  it('refuses a truncated or corrupt archive', async () => {
    const dir = join(work, 'truncated');
    mkdirSync(join(dir, 'layers'), { recursive: true });
    const whole = tar.tarArchive([{ path: 'big', data: Buffer.alloc(10_000, 1) }]);
    const cut = whole.subarray(0, 4096);
    writeFileSync(join(dir, 'blob'), cut);
    const id = sha256Digest(cut);
    await assert.rejects(unpackLayer({ ...fileBlob(join(dir, 'blob')), diffId: id, chainId: id, dest: join(dir, 'layers', 'l') }), (err: unknown) => refused(err) && /Truncated input/.test((err as Error).message));
    const bad = Buffer.from(whole);
    bad[10] = 0x41; // breaks the header checksum
    writeFileSync(join(dir, 'blob'), bad);
    const id2 = sha256Digest(bad);
    await assert.rejects(unpackLayer({ ...fileBlob(join(dir, 'blob')), diffId: id2, chainId: id2, dest: join(dir, 'layers', 'l') }), (err: unknown) => refused(err) && /checksum failure/.test((err as Error).message));
    assert.deepEqual(readdirSync(join(dir, 'layers')), []);
  });

  it('accepts an empty layer', async () => {
    const u = await unpack([], { gzip: true });
    const meta = await u.result;
    assert.equal(meta.size, 0);
    assert.deepEqual(readdirSync(u.fs), []);
  });

  it('computes chain ids as the OCI spec does', () => {
    const a = sha256Digest('a');
    const b = sha256Digest('b');
    assert.deepEqual(chainIds([a, b]), [a, sha256Digest(`${a} ${b}`)]);
  });
});

describe('findInLayers', () => {
  it('sees the merged view: upper wins, whiteouts delete, opaque dirs hide, symlinks stay inside', async () => {
    const base = await unpack([
      { path: 'etc/passwd', data: Buffer.from('base passwd') },
      { path: 'etc/group', data: Buffer.from('base group') },
      { path: 'opt/app/conf', data: Buffer.from('base conf') },
      { path: 'usr/share/hosts', data: Buffer.from('base hosts') },
      { path: 'deep/dir/file', data: Buffer.from('deep') },
    ]);
    const top = await unpack([
      { path: 'etc/passwd', data: Buffer.from('top passwd') },
      { path: 'etc/.wh.group', data: Buffer.alloc(0) },
      { path: 'opt/app/.wh..wh..opq', data: Buffer.alloc(0) },
      { path: 'etc/hosts', type: 'symlink', linkname: '../../../usr/share/hosts' },
      { path: 'etc/shadow', type: 'symlink', linkname: '/etc/passwd' },
      { path: 'lnk', type: 'symlink', linkname: 'deep/dir' },
    ]);
    await base.result;
    await top.result;
    const layers = [base.fs, top.fs];
    const read = (p: string) => {
      const found = findInLayers(layers, p);
      return found === undefined ? undefined : readFileSync(found, 'utf8');
    };
    assert.equal(read('etc/passwd'), 'top passwd');
    assert.equal(read('/etc/passwd'), 'top passwd');
    assert.equal(read('etc/group'), undefined, 'whited out');
    assert.equal(read('opt/app/conf'), undefined, 'below an opaque directory');
    assert.equal(read('etc/hosts'), 'base hosts', '.. stops at the image root');
    assert.equal(read('etc/shadow'), 'top passwd', 'absolute symlinks resolve in the image');
    assert.equal(read('lnk/file'), 'deep');
    assert.equal(read('etc'), undefined, 'a directory is not a file');
    assert.equal(read('missing'), undefined);
    assert.equal(findInLayers(layers, 'etc/passwd'), join(top.fs, 'etc/passwd'));
  });
});
