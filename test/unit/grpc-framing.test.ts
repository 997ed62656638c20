// gRPC message framing, grpc-timeout and grpc-message encoding, without a server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { encodeGrpcMessage, frameMessage, GrpcFramingError, MessageReader, parseGrpcTimeout } from '../../src/server/grpc-framing.js';

/** The messages one chunk completes. */
function read(reader: MessageReader, chunk: Buffer): Array<{ body: Buffer; compressed: boolean }> {
  const out: Array<{ body: Buffer; compressed: boolean }> = [];
  reader.push(chunk, { message: (body, compressed) => out.push({ body, compressed }) });
  return out;
}

function frame(flag: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

test('a message split across chunks at every byte comes out whole, once', () => {
  const body = Buffer.from('the quick brown fox');
  const wire = frame(0, body);
  for (let cut = 0; cut <= wire.length; cut++) {
    const reader = new MessageReader(1024);
    const out = [...read(reader, wire.subarray(0, cut)), ...read(reader, wire.subarray(cut))];
    assert.equal(out.length, 1, `cut at ${cut}`);
    assert.deepEqual(out[0]!.body, body);
    assert.equal(out[0]!.compressed, false);
    assert.ok(reader.atBoundary);
  }
});

test('one chunk may carry several messages, empty ones included', () => {
  const reader = new MessageReader(1024);
  const out = read(reader, Buffer.concat([frame(0, Buffer.from('a')), frame(1, Buffer.alloc(0)), frame(0, Buffer.from('bc'))]));
  assert.deepEqual(out.map((m) => [m.compressed, m.body.toString()]), [[false, 'a'], [true, ''], [false, 'bc']]);
});

test('a partial message is held and reported as not at a boundary', () => {
  const reader = new MessageReader(1024);
  assert.deepEqual(read(reader, frame(0, Buffer.from('abcdef')).subarray(0, 7)), []);
  assert.equal(reader.atBoundary, false);
  assert.equal(reader.pending, 2);
});

test('an announced length over the limit is refused before its bytes arrive', () => {
  const reader = new MessageReader(100);
  const head = Buffer.from([0, 0, 0, 0, 101]);
  assert.throws(() => read(reader, head), (err: unknown) => err instanceof GrpcFramingError && err.code === status.RESOURCE_EXHAUSTED);
  const atLimit = new MessageReader(100);
  assert.equal(read(atLimit, frame(0, Buffer.alloc(100))).length, 1);
});

test('a flag other than 0 or 1 is refused', () => {
  assert.throws(() => read(new MessageReader(10), Buffer.from([2, 0, 0, 0, 0])), (err: unknown) => err instanceof GrpcFramingError && err.code === status.INTERNAL);
});

test('frameMessage writes the prefix the reader reads', () => {
  const body = new Uint8Array([1, 2, 3]);
  const wire = frameMessage(body);
  assert.deepEqual([...wire], [0, 0, 0, 0, 3, 1, 2, 3]);
  assert.deepEqual([...read(new MessageReader(10), wire)[0]!.body], [1, 2, 3]);
});

test('grpc-timeout: every unit, and refusals of what is not a timeout', () => {
  assert.equal(parseGrpcTimeout('2H'), 7_200_000);
  assert.equal(parseGrpcTimeout('3M'), 180_000);
  assert.equal(parseGrpcTimeout('10S'), 10_000);
  assert.equal(parseGrpcTimeout('250m'), 250);
  assert.equal(parseGrpcTimeout('1500u'), 1.5);
  assert.equal(parseGrpcTimeout('2000000n'), 2);
  assert.equal(parseGrpcTimeout('99999999S'), 99_999_999_000);
  for (const bad of ['', 'S', '10', '10s', '123456789S', '-1S', '1.5S', ' 1S', '1S ']) {
    assert.throws(() => parseGrpcTimeout(bad), GrpcFramingError, JSON.stringify(bad));
  }
});

test('grpc-message: printable ASCII stays, %, controls and UTF-8 are percent-encoded, long texts are cut', () => {
  assert.equal(encodeGrpcMessage('pod "a" not found'), 'pod "a" not found');
  assert.equal(encodeGrpcMessage('100%\nné'), '100%25%0An%C3%A9');
  assert.equal(decodeURIComponent(encodeGrpcMessage('100%\nné')), '100%\nné');
  assert.equal(encodeGrpcMessage('x'.repeat(10_000)).length, 8192);
  assert.equal(encodeGrpcMessage('é'.repeat(10), 4), '%C3%A9%C3%A9');
});
