// A daemon that cannot start: the caller learns why, and nothing of it stays on the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { startCricket, TEST_PREFIX } from '../harness/cricket.js';

const testDirs = () => readdirSync('/tmp').filter((n) => `/tmp/${n}`.startsWith(TEST_PREFIX)).sort();

test('a daemon that exits at start reports its log and leaves no directory', async () => {
  const before = testDirs();
  await assert.rejects(startCricket({ env: { NODE_OPTIONS: '--no-such-node-option' } }), (err: Error) => {
    assert.match(err.message, /cricket exited with \d+/);
    assert.match(err.message, /no-such-node-option/, 'the daemon log says what went wrong');
    return true;
  });
  assert.deepEqual(testDirs(), before);
});
