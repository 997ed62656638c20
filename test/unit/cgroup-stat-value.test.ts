// Values of flat-keyed cgroup stat files (memory.stat, cpu.stat), read by key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statValue } from '../../src/stats/cgroup-usage.js';

const memoryStat = [
  'anon 1843200',
  'file 8192',
  'inactive_anon 1838080',
  'inactive_file 4096',
  'pgfault 1525',
  'pgmajfault 0',
  'total_inactive_file 77',
  '',
].join('\n');

test('a key is read whole, at the start, in the middle and at the end of the file', () => {
  assert.equal(statValue(memoryStat, 'anon'), 1843200n);
  assert.equal(statValue(memoryStat, 'inactive_file'), 4096n);
  assert.equal(statValue(memoryStat, 'pgfault'), 1525n);
  assert.equal(statValue(memoryStat, 'pgmajfault'), 0n);
  assert.equal(statValue(memoryStat, 'total_inactive_file'), 77n);
  assert.equal(statValue('usage_usec 18446744073709551615', 'usage_usec'), 18446744073709551615n);
});

test('a key is not found inside another one, and a missing or empty file gives 0', () => {
  // "inactive_anon" and "total_inactive_file" must not answer for "anon" or "inactive_file".
  assert.equal(statValue('inactive_anon 5\ntotal_inactive_file 6\n', 'anon'), 0n);
  assert.equal(statValue('total_inactive_file 6\n', 'inactive_file'), 0n);
  assert.equal(statValue('', 'anon'), 0n);
  assert.equal(statValue('anon x\n', 'anon'), 0n);
});
