import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PerRecord } from '../../src/store/per-record.js';

test('a value is made once per version of a record, with the arguments of its first ask', () => {
  let made = 0;
  const paths = new PerRecord((record: { id: string }, root: string) => {
    made++;
    return `${root}/${record.id}`;
  });
  const first = Object.freeze({ id: 'a' });
  assert.equal(paths.of(first, '/x'), '/x/a');
  assert.equal(paths.of(first, '/x'), '/x/a');
  assert.equal(made, 1);
  // A changed record is a new object: its value is made anew.
  const second = Object.freeze({ ...first });
  assert.equal(paths.of(second, '/y'), '/y/a');
  assert.equal(made, 2);
});
