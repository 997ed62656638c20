import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestCache } from '../../src/streaming/tokens.js';
import { encodeStatus, exitCodeStatus, internalErrorStatus, successStatus, TerminalSizeDecoder } from '../../src/streaming/protocol.js';
import { negotiate } from '../../src/streaming/spdy.js';

test('a token is consumed by its first use', () => {
  const cache = new RequestCache<string>();
  const token = cache.insert('req');
  assert.match(token, /^[A-Za-z0-9_-]{20,}$/);
  assert.equal(cache.consume(token), 'req');
  assert.equal(cache.consume(token), undefined);
  assert.equal(cache.consume('never-issued'), undefined);
});

test('a token expires after its time to live', () => {
  let now = 1000;
  const cache = new RequestCache<string>(60_000, 10, () => now);
  const early = cache.insert('a');
  const late = cache.insert('b');
  now += 59_999;
  assert.equal(cache.consume(early), 'a');
  now += 1;
  assert.equal(cache.consume(late), undefined);
  assert.equal(cache.size, 0);
});

test('tokens in flight are bounded', () => {
  let now = 0;
  const cache = new RequestCache<number>(1000, 2, () => now);
  cache.insert(1);
  cache.insert(2);
  assert.throws(() => cache.insert(3), /too many/);
  now = 1000;
  assert.doesNotThrow(() => cache.insert(4));
});

test('tokens are unpredictable: 128 random bits each, every bit seen both ways', () => {
  const cache = new RequestCache<number>();
  const tokens = [...new Set(Array.from({ length: 200 }, (_, i) => cache.insert(i)))];
  assert.equal(tokens.length, 200);
  const raw = tokens.map((t) => Buffer.from(t, 'base64url'));
  for (const r of raw) assert.equal(r.length, 16);
  // A counter, a clock or a short seed would leave some bits fixed over 200 draws.
  for (let bit = 0; bit < 128; bit++) {
    const ones = raw.filter((r) => (r[bit >> 3]! >> (bit & 7)) & 1).length;
    assert.ok(ones > 40 && ones < 160, `bit ${bit} was 1 in ${ones} of 200 tokens`);
  }
});

test('the resize stream: back-to-back JSON objects, split anywhere', () => {
  const d = new TerminalSizeDecoder();
  assert.deepEqual(d.push('{"Width":80,"Height":24}{"Width":1'), [{ width: 80, height: 24 }]);
  assert.deepEqual(d.push('00,"Height":30}\n'), [{ width: 100, height: 30 }]);
  assert.deepEqual(d.push('{"Width":5,"Height":"x"}{"Width":7,"Height":8}'), [{ width: 7, height: 8 }]);
  assert.deepEqual(d.push('{"Width":9,"He'), []);
  assert.deepEqual(d.push('ight":"}{"} '), []);
  assert.deepEqual(new TerminalSizeDecoder().push('{"Width":1,"Height":2,"x":"}"}'), [{ width: 1, height: 2 }]);
});

test('statuses as kubelet writes them', () => {
  assert.equal(encodeStatus(successStatus(), true)!.toString(), '{"metadata":{},"status":"Success"}');
  assert.equal(encodeStatus(successStatus(), false), undefined);
  const failed = exitCodeStatus(['sh', '-c', 'exit 3'], 3);
  assert.deepEqual(JSON.parse(encodeStatus(failed, true)!.toString()), {
    metadata: {},
    status: 'Failure',
    message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '3' }] },
  });
  assert.equal(encodeStatus(failed, false)!.toString(), failed.message);
  const internal = internalErrorStatus('boom');
  assert.equal(internal.code, 500);
  assert.equal(internal.message, 'Internal error occurred: boom');
});

test('protocol negotiation takes the client\'s first supported choice', () => {
  const server = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'channel.k8s.io'];
  assert.equal(negotiate(['v4.channel.k8s.io', 'v5.channel.k8s.io'], server), 'v4.channel.k8s.io');
  assert.equal(negotiate(['v9.channel.k8s.io', 'channel.k8s.io'], server), 'channel.k8s.io');
  assert.equal(negotiate(['v9.channel.k8s.io'], server), undefined);
});
