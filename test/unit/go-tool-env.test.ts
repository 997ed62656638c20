// The Go programs the daemon runs get one processor unless the operator chose otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limitGoToolProcessors } from '../../src/process/go-tool-env.js';

test('GOMAXPROCS is 1 when unset or empty, and the operator\'s value is kept', () => {
  const unset: NodeJS.ProcessEnv = {};
  limitGoToolProcessors(unset);
  assert.equal(unset.GOMAXPROCS, '1');
  const empty: NodeJS.ProcessEnv = { GOMAXPROCS: '' };
  limitGoToolProcessors(empty);
  assert.equal(empty.GOMAXPROCS, '1');
  const chosen: NodeJS.ProcessEnv = { GOMAXPROCS: '4' };
  limitGoToolProcessors(chosen);
  assert.equal(chosen.GOMAXPROCS, '4');
});
