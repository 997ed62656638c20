// How a connection's output is gathered for its socket write (src/server/http2/frame-output.ts).
import type { Socket } from 'node:net';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameOutput } from '../../src/server/http2/frame-output.js';

/** The buffers `out` writes to a socket, in order. */
function written(out: FrameOutput): Uint8Array[] {
  const writes: Uint8Array[] = [];
  const socket = { write: (piece: Uint8Array) => writes.push(piece), cork: () => undefined, uncork: () => undefined };
  out.writeTo(socket as unknown as Socket);
  return writes;
}

function joined(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length)));
}

test('frame headers and small pieces become one buffer with the same bytes in order', () => {
  const out = new FrameOutput();
  assert.ok(out.empty);
  out.header(3, 0x1, 0x5, 7);
  out.bytes(Buffer.from('abc'));
  out.header(4, 0x3, 0, 0x7fffffff);
  out.u32(0xdeadbeef);
  assert.equal(out.empty, false);
  const writes = written(out);
  assert.equal(writes.length, 1);
  assert.deepEqual([...writes[0]!], [
    0, 0, 3, 1, 5, 0, 0, 0, 7, 0x61, 0x62, 0x63,
    0, 0, 4, 3, 0, 0x7f, 0xff, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef,
  ]);
  assert.ok(out.empty);
  assert.deepEqual(written(out), []);
});

test('a large piece is written as it is, between the runs around it; empty pieces write nothing', () => {
  const out = new FrameOutput(1024);
  const large = Buffer.alloc(1024, 7);
  out.bytes(Buffer.from('a'));
  out.bytes(new Uint8Array(0));
  out.bytes(large);
  out.bytes(Buffer.from('b'));
  const writes = written(out);
  assert.equal(writes.length, 3);
  assert.equal(writes[1], large);
  assert.equal(joined(writes).toString('latin1'), `a${'\x07'.repeat(1024)}b`);
});

test('outputs of two connections interleaved in one slab keep their own bytes', () => {
  const one = new FrameOutput();
  const two = new FrameOutput();
  one.bytes(Buffer.from('1a'));
  two.bytes(Buffer.from('2a'));
  one.bytes(Buffer.from('1b'));
  two.bytes(Buffer.from('2b'));
  assert.equal(joined(written(one)).toString(), '1a1b');
  assert.equal(joined(written(two)).toString(), '2a2b');
});

test('output past a slab\'s end goes on in a new slab, byte-exact', () => {
  const out = new FrameOutput();
  const pieces: Buffer[] = [];
  for (let i = 0; i < 200; i++) pieces.push(Buffer.alloc(1000, i & 0xff));
  for (const p of pieces) out.bytes(p);
  const writes = written(out);
  assert.ok(writes.length >= 2, 'more than one slab was used');
  assert.deepEqual(joined(writes), Buffer.concat(pieces));
  // What was handed out stays as it was while more output is gathered.
  const first = Buffer.from(writes[0]!);
  for (let i = 0; i < 100; i++) out.bytes(Buffer.alloc(1000, 0xee));
  assert.deepEqual(Buffer.from(writes[0]!), first);
  out.clear();
  assert.ok(out.empty);
});
