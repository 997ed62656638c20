// Pinned network namespaces (needs root: unshare and mount).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CricketError } from '../../src/errors.js';
import { createPinnedNetns, isNetnsMounted, listPinned, removePinnedNetns } from '../../src/network/netns.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;

function tempDir(t: { after: (fn: () => Promise<void> | void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cricket-netns-'));
  t.after(async () => {
    for (const p of await listPinned(path.join(dir, 'netns'))) await removePinnedNetns(p.path);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const mountedAt = (p: string): boolean => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === p);

test('create pins a new netns (parent dir made), remove unpins and deletes, idempotently', { skip }, async (t) => {
  const dir = tempDir(t);
  const p = path.join(dir, 'netns', 'deep', 'pod1');
  await createPinnedNetns(p);
  assert.equal(await isNetnsMounted(p), true);
  assert.ok(mountedAt(p));
  // A namespace of its own, not cricket's.
  assert.notEqual(statSync(p).ino, statSync('/proc/self/ns/net').ino);

  await removePinnedNetns(p);
  assert.equal(await isNetnsMounted(p), false);
  assert.equal(existsSync(p), false);
  assert.equal(mountedAt(p), false);
  await removePinnedNetns(p);
  await removePinnedNetns(path.join(dir, 'no', 'such', 'dir', 'pod'));
});

test('create refuses a path already pinned, and reuses a stale empty file', { skip }, async (t) => {
  const dir = tempDir(t);
  const p = path.join(dir, 'netns', 'pod2');
  await createPinnedNetns(p);
  await assert.rejects(createPinnedNetns(p), (e: unknown) => e instanceof CricketError && e.kind === 'already-exists');
  await removePinnedNetns(p);

  writeFileSync(p, '');
  await createPinnedNetns(p);
  assert.equal(await isNetnsMounted(p), true);
  await removePinnedNetns(p);
});

test('listPinned reports files and whether each is still a namespace', { skip }, async (t) => {
  const dir = tempDir(t);
  const nsDir = path.join(dir, 'netns');
  assert.deepEqual(await listPinned(nsDir), []);
  await createPinnedNetns(path.join(nsDir, 'b'));
  await createPinnedNetns(path.join(nsDir, 'a'));
  writeFileSync(path.join(nsDir, 'stale'), '');
  assert.deepEqual(await listPinned(nsDir), [
    { name: 'a', path: path.join(nsDir, 'a'), mounted: true },
    { name: 'b', path: path.join(nsDir, 'b'), mounted: true },
    { name: 'stale', path: path.join(nsDir, 'stale'), mounted: false },
  ]);
});

test('create and remove are fast', { skip }, async (t) => {
  const dir = tempDir(t);
  const n = 20;
  let createMs = 0;
  let removeMs = 0;
  for (let i = 0; i < n; i++) {
    const p = path.join(dir, 'netns', `speed${i}`);
    let start = performance.now();
    await createPinnedNetns(p);
    createMs += performance.now() - start;
    start = performance.now();
    await removePinnedNetns(p);
    removeMs += performance.now() - start;
  }
  t.diagnostic(`netns create ${(createMs / n).toFixed(1)} ms, remove ${(removeMs / n).toFixed(1)} ms (mean of ${n})`);
  assert.ok(createMs / n < 200 && removeMs / n < 200);
});
