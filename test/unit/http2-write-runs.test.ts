import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeRuns } from '../../src/server/http2/write-runs.js';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const joined = (parts: readonly Uint8Array[]) => Buffer.concat(parts);

test('small pieces become one buffer with the same bytes in the same order', () => {
  const pieces = Array.from({ length: 200 }, (_, i) => bytes(1 + (i % 50), i));
  const writes = writeRuns(pieces);
  assert.equal(writes.length, 1);
  assert.deepEqual(joined(writes), joined(pieces));
});

test('a large piece is written as it is, between the runs before and after it', () => {
  const large = bytes(20_000, 7);
  const pieces = [bytes(9, 1), bytes(100, 2), large, bytes(9, 3), bytes(5, 4)];
  const writes = writeRuns(pieces, 16 * 1024, 64 * 1024);
  assert.equal(writes.length, 3);
  assert.equal(writes[1], large);
  assert.deepEqual(joined(writes), joined(pieces));
});

test('runs stay within their limit, and every byte is written once', () => {
  const pieces = Array.from({ length: 100 }, (_, i) => bytes(1000, i));
  const writes = writeRuns(pieces, 16 * 1024, 10_000);
  assert.equal(writes.length, 10);
  assert.ok(writes.every((w) => w.length <= 10_000));
  assert.deepEqual(joined(writes), joined(pieces));
});

test('a lone small piece is not copied; empty pieces and no pieces write nothing', () => {
  const only = bytes(10, 1);
  assert.equal(writeRuns([only])[0], only);
  assert.deepEqual(writeRuns([]), []);
  assert.deepEqual(writeRuns([new Uint8Array(0), new Uint8Array(0)]), []);
  assert.equal(writeRuns([new Uint8Array(0), only, new Uint8Array(0)])[0], only);
});
