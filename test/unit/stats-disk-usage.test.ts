// The writable-layer usage kubelet asks for with every stats call: one walk per directory at a
// time, reused for a while, and nothing thrown for a directory that went away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskUsage } from '../../src/stats/disk-usage.js';

test('concurrent asks share one walk; the answer is reused; a missing directory is empty', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cricket-du-'));
  try {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'f'), Buffer.alloc(64 * 1024, 1));
    const [a, b] = await Promise.all([diskUsage(dir), diskUsage(dir)]);
    assert.equal(a, b, 'one walk answered both');
    assert.equal(a.inodes, 2n);
    assert.ok(a.bytes >= 64n * 1024n);
    writeFileSync(join(dir, 'g'), 'x');
    assert.equal(await diskUsage(dir), a, 'reused within its time');
    assert.deepEqual(await diskUsage(join(dir, 'gone')), { bytes: 0n, inodes: 0n });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
