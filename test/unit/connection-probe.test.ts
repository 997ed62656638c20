import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Http2FrontError } from '../../src/server/authority.js';
import { ConnectionProbe } from '../../src/server/connection-probe.js';
import { frame, PREFACE } from '../harness/http2-frames.js';


/** HPACK literal without indexing, new name, raw strings. */
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00, n.length]), n, Buffer.from([v.length]), v]);
}

const clientSettings = frame(0x4, 0, 0, Buffer.from([0, 4, 0, 0x40, 0, 0]));
const windowUpdate = frame(0x8, 0, 0, Buffer.from([0, 0x0f, 0, 0]));
const ack = frame(0x4, 0x1, 0);
const headers = (authority: string): Buffer =>
  frame(0x1, 0x4, 1, Buffer.concat([Buffer.from([0x83, 0x86]), literal(':authority', authority), literal(':path', '/runtime.v1.RuntimeService/Version')]));
const data = frame(0x0, 0x1, 1, Buffer.from([0, 0, 0, 0, 0]));

function feedAll(probe: ConnectionProbe, chunks: Buffer[]): string[] {
  return chunks.map((c) => probe.feed(c));
}

test('a Go client: waits for the server preface, acknowledges it, then sends the socket path', () => {
  const probe = new ConnectionProbe();
  const decisions = feedAll(probe, [Buffer.concat([PREFACE, clientSettings, windowUpdate]), ack, Buffer.concat([headers('/run/cricket/cricket.sock'), data])]);
  assert.deepEqual(decisions, ['more', 'more', 'front']);
  assert.deepEqual(probe.bytes(), Buffer.concat([PREFACE, clientSettings, windowUpdate, headers('/run/cricket/cricket.sock'), data]));
});

test('a client that sends its request at once and a plain authority goes direct once it has acknowledged', () => {
  const probe = new ConnectionProbe();
  assert.equal(probe.feed(Buffer.concat([PREFACE, clientSettings, headers('localhost'), data])), 'more');
  assert.equal(probe.requestStarted, true);
  assert.equal(probe.feed(Buffer.concat([ack, frame(0x4, 0x1, 0)])), 'direct');
  // Only the first acknowledgement (of the probe's own SETTINGS) is taken out.
  assert.deepEqual(probe.bytes(), Buffer.concat([PREFACE, clientSettings, headers('localhost'), data, frame(0x4, 0x1, 0)]));
});

test('the decision does not depend on how the bytes are chunked', () => {
  const whole = Buffer.concat([PREFACE, clientSettings, ack, headers('localhost'), data]);
  const probe = new ConnectionProbe();
  let last = 'more';
  for (let i = 0; i < whole.length && last === 'more'; i++) last = probe.feed(whole.subarray(i, i + 1));
  assert.equal(last, 'direct');
  assert.deepEqual(probe.bytes(), Buffer.concat([PREFACE, clientSettings, headers('localhost')]));
});

test('a first block split over CONTINUATION frames is judged whole', () => {
  const block = Buffer.concat([Buffer.from([0x83]), literal(':authority', 'localhost'), literal('x-a', 'b')]);
  const bytes = Buffer.concat([PREFACE, clientSettings, ack, frame(0x1, 0, 1, block.subarray(0, 5)), frame(0x9, 0, 1, block.subarray(5, 9)), frame(0x9, 0x4, 1, block.subarray(9))]);
  const probe = new ConnectionProbe();
  assert.equal(probe.feed(bytes.subarray(0, bytes.length - 3)), 'more');
  assert.equal(probe.feed(bytes.subarray(bytes.length - 3)), 'direct');
});

test('a padded HEADERS frame with priority is read past its padding', () => {
  const block = Buffer.concat([Buffer.from([0x83]), literal(':authority', '/a/socket')]);
  const payload = Buffer.concat([Buffer.from([3]), Buffer.from([0, 0, 0, 0, 16]), block, Buffer.alloc(3)]);
  const probe = new ConnectionProbe();
  assert.equal(probe.feed(Buffer.concat([PREFACE, ack, frame(0x1, 0x4 | 0x8 | 0x20, 1, payload)])), 'front');
});

test('bad input is refused', () => {
  assert.throws(() => new ConnectionProbe().feed(Buffer.from('GET / HTTP/1.1\r\n\r\n')), Http2FrontError);
  assert.throws(() => new ConnectionProbe().feed(Buffer.concat([PREFACE, frame(0x4, 0x1, 0, Buffer.from([1]))])), Http2FrontError);
  assert.throws(() => new ConnectionProbe().feed(Buffer.concat([PREFACE, frame(0x1, 0, 1, Buffer.from([0x83])), frame(0x0, 0, 1)])), Http2FrontError);
  assert.throws(() => new ConnectionProbe().feed(Buffer.concat([PREFACE, ack, frame(0x1, 0x4, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))])), Http2FrontError);
  const cont = frame(0x9, 0, 1);
  assert.throws(() => new ConnectionProbe().feed(Buffer.concat([PREFACE, frame(0x1, 0, 1), ...Array.from({ length: 300 }, () => cont)])), /more than 256 frames/);
});

test('a client that never sends a request stays undecided', () => {
  const probe = new ConnectionProbe();
  assert.equal(probe.feed(Buffer.concat([PREFACE, clientSettings, ack])), 'more');
  assert.equal(probe.prefaceComplete, true);
  assert.equal(probe.requestStarted, false);
  assert.equal(probe.acknowledged, true);
});
