// A connection's open streams (src/server/http2/stream-table.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamTable } from '../../src/server/http2/stream-table.js';
import type { ServerStream } from '../../src/server/http2/stream.js';

const stream = (id: number) => ({ id }) as unknown as ServerStream;

test('streams are found by id until deleted; a deleted one leaves the others in place', () => {
  const table = new StreamTable();
  const streams = [1, 3, 5, 7, 9].map(stream);
  for (const s of streams) table.add(s);
  assert.equal(table.size, 5);
  for (const s of streams) assert.equal(table.get(s.id), s);
  assert.equal(table.get(11), undefined);
  table.delete(3);
  table.delete(3);
  table.delete(42);
  assert.equal(table.size, 4);
  assert.equal(table.get(3), undefined);
  for (const id of [1, 5, 7, 9]) assert.equal(table.get(id)?.id, id);
  table.delete(9);
  table.delete(1);
  assert.deepEqual(table.snapshot().map((s) => s.id).sort((a, b) => a - b), [5, 7]);
});

test('a snapshot does not change when the table does', () => {
  const table = new StreamTable();
  table.add(stream(1));
  table.add(stream(3));
  const before = table.snapshot();
  table.delete(1);
  table.add(stream(5));
  assert.deepEqual(before.map((s) => s.id), [1, 3]);
  table.clear();
  assert.equal(table.size, 0);
  assert.equal(table.get(3), undefined);
});
