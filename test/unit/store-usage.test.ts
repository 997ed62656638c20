// ImageFsInfo's figures: the whole store counted, without walking what cannot have changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreUsage } from '../../src/image/store-usage.js';

/** Every inode under `root`, itself included, counted the plain way. */
function bruteForce(root: string): { bytes: number; inodes: number } {
  const total = { bytes: 0, inodes: 0 };
  const visit = (p: string): void => {
    const st = lstatSync(p);
    total.inodes++;
    total.bytes += st.blocks * 512;
    if (st.isDirectory()) for (const n of readdirSync(p)) visit(join(p, n));
  };
  visit(root);
  return total;
}

const hex = (c: string) => c.repeat(64);

function layer(root: string, name: string, files: number): void {
  mkdirSync(join(root, 'layers', name, 'fs', 'etc'), { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(root, 'layers', name, 'fs', 'etc', `f${i}`), 'x'.repeat(5000 * (i + 1)));
  writeFileSync(join(root, 'layers', name, 'layer.json'), '{}');
}

test('the store counted as a plain walk counts it, as blobs, layers and work in progress come and go', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'store-usage-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const d of ['blobs/sha256', 'layers', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'index.json'), '[]');
  writeFileSync(join(root, 'blobs', 'sha256', hex('a')), 'a'.repeat(10_000));
  layer(root, hex('b'), 3);
  const usage = new StoreUsage(root, 50);
  assert.deepEqual(await usage.measure(), bruteForce(root));

  // A new blob, a layer being unpacked, a download in tmp/ growing: each shows at the next call.
  await sleep(100);
  assert.deepEqual(await usage.measure(), bruteForce(root));
  writeFileSync(join(root, 'blobs', 'sha256', hex('c')), 'c'.repeat(20_000));
  assert.deepEqual(await usage.measure(), bruteForce(root));
  const unpacking = join(root, 'layers', '.tmp-1-abc');
  mkdirSync(join(unpacking, 'fs'), { recursive: true });
  writeFileSync(join(root, 'tmp', 'download'), 'd'.repeat(4096));
  assert.deepEqual(await usage.measure(), bruteForce(root));
  await sleep(100);
  writeFileSync(join(unpacking, 'fs', 'big'), 'e'.repeat(50_000));
  appendFileSync(join(root, 'tmp', 'download'), 'd'.repeat(40_000));
  assert.deepEqual(await usage.measure(), bruteForce(root), 'work in progress is walked on every call');
  writeFileSync(join(unpacking, 'layer.json'), '{}');
  renameSync(unpacking, join(root, 'layers', hex('f')));
  assert.deepEqual(await usage.measure(), bruteForce(root));

  // A removed layer and blob leave the count.
  rmSync(join(root, 'layers', hex('b')), { recursive: true });
  rmSync(join(root, 'blobs', 'sha256', hex('a')));
  assert.deepEqual(await usage.measure(), bruteForce(root));
});

test('what is named by its digest is measured once, and a settled directory is not listed again', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'store-usage-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const d of ['blobs/sha256', 'layers', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'blobs', 'sha256', hex('a')), 'a'.repeat(10_000));
  layer(root, hex('b'), 2);
  const usage = new StoreUsage(root, 50);
  await sleep(100);
  const first = await usage.measure();
  // Nothing left to walk: counted at once, without a turn of the event loop.
  assert.ok(!(usage.measure() instanceof Promise));
  // Changed behind the store's back, which the store never does to a digest-named file or a
  // complete layer: the count stays as it was, so neither was looked at again.
  appendFileSync(join(root, 'blobs', 'sha256', hex('a')), 'a'.repeat(100_000));
  writeFileSync(join(root, 'layers', hex('b'), 'fs', 'etc', 'f0'), 'x'.repeat(200_000));
  assert.deepEqual(await usage.measure(), first);
  // A new name changes its directory's times, and the directory is listed again.
  writeFileSync(join(root, 'blobs', 'sha256', hex('c')), 'c');
  const after = await usage.measure();
  assert.equal(after.inodes, first.inodes + 1);
});

test('a large tree is walked through the thread pool: the event loop turns meanwhile', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'store-usage-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const d of ['blobs/sha256', 'layers', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  // A layer being unpacked, wide and a few levels deep.
  const unpacking = join(root, 'layers', '.tmp-1-big');
  for (let d = 0; d < 20; d++) {
    const dir = join(unpacking, 'fs', `d${d}`, 'sub');
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 150; f++) writeFileSync(join(dir, `f${f}`), 'x');
  }
  const usage = new StoreUsage(root, 50);
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  const measured = await usage.measure();
  clearInterval(ticker);
  assert.deepEqual(measured, bruteForce(root));
  assert.ok(turns >= 5, `the event loop turned ${turns} times during a walk of ${measured.inodes} inodes`);
});

test('a file with two names in a layer counts once', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'store-usage-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const d of ['blobs/sha256', 'layers', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  layer(root, hex('a'), 1);
  const file = join(root, 'layers', hex('a'), 'fs', 'etc', 'f0');
  linkSync(file, join(root, 'layers', hex('a'), 'fs', 'etc', 'again'));
  const plain = bruteForce(root); // counts both names
  const measured = await new StoreUsage(root, 50).measure();
  assert.equal(measured.inodes, plain.inodes - 1);
  assert.equal(measured.bytes, plain.bytes - lstatSync(file).blocks * 512);
});
