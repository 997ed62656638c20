// Values of flat-keyed cgroup stat files (memory.stat, cpu.stat) and one-value files
// (memory.current, cpuacct.usage), read from the file's bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leadingNumber, statKey, statValue } from '../../src/stats/cgroup-usage.js';

const memoryStat = Buffer.from(
  ['anon 1843200', 'file 8192', 'inactive_anon 1838080', 'inactive_file 4096', 'pgfault 1525', 'pgmajfault 0', 'total_inactive_file 77', ''].join('\n'),
);
const valueOf = (text: string | Buffer, key: string) => {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  return statValue(bytes, bytes.length, statKey(key));
};

test('a key is read whole, at the start, in the middle and at the end of the file', () => {
  assert.equal(valueOf(memoryStat, 'anon'), 1843200n);
  assert.equal(valueOf(memoryStat, 'inactive_file'), 4096n);
  assert.equal(valueOf(memoryStat, 'pgfault'), 1525n);
  assert.equal(valueOf(memoryStat, 'pgmajfault'), 0n);
  assert.equal(valueOf(memoryStat, 'total_inactive_file'), 77n);
  assert.equal(valueOf('usage_usec 18446744073709551615', 'usage_usec'), 18446744073709551615n);
  assert.equal(valueOf('usage_usec 999999999999999\n', 'usage_usec'), 999999999999999n);
  assert.equal(valueOf('usage_usec 9007199254740993\n', 'usage_usec'), 9007199254740993n);
});

test('a key is not found inside another one, and a missing or empty file gives 0', () => {
  // "inactive_anon" and "total_inactive_file" must not answer for "anon" or "inactive_file".
  assert.equal(valueOf('inactive_anon 5\ntotal_inactive_file 6\n', 'anon'), 0n);
  assert.equal(valueOf('total_inactive_file 6\n', 'inactive_file'), 0n);
  assert.equal(valueOf('', 'anon'), 0n);
  assert.equal(valueOf('anon x\n', 'anon'), 0n);
  // A key cut off by the file's end, or a line with the key and no space after it.
  assert.equal(valueOf('ano', 'anon'), 0n);
  assert.equal(valueOf('anon\nanon 7\n', 'anon'), 7n);
});

test('only the bytes read count, not what the reused buffer held before', () => {
  const buffer = Buffer.from('anon 12\nfile 99\n');
  // The first line alone was read this time: "file" lies beyond it.
  assert.equal(statValue(buffer, 8, statKey('file')), 0n);
  assert.equal(statValue(buffer, 8, statKey('anon')), 12n);
  // A number is cut where the read ended.
  assert.equal(statValue(buffer, 6, statKey('anon')), 1n);
  assert.equal(leadingNumber(Buffer.from('123456\n'), 3), 123n);
});

test('a one-value file gives its number, after blanks; none gives 0', () => {
  const of = (text: string) => leadingNumber(Buffer.from(text), Buffer.byteLength(text));
  assert.equal(of('8409088\n'), 8409088n);
  assert.equal(of(' 42'), 42n);
  assert.equal(of('18446744073709551615\n'), 18446744073709551615n);
  assert.equal(of('max\n'), 0n);
  assert.equal(of(''), 0n);
});
