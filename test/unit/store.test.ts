// The state API: frozen records changed only through update(), the name index, undo steps and
// the digest that recognises kubelet's retries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logger } from '../../src/log/logger.js';
import { NameIndex } from '../../src/store/name-index.js';
import { RecordStore } from '../../src/store/record-store.js';
import { requestDigest } from '../../src/store/request-digest.js';
import { Rollback } from '../../src/store/rollback.js';

interface Rec { id: string; pod: string; n: number; tags: string[] }

test('records are frozen snapshots; concurrent updates of one record never lose a change', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cricket-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await RecordStore.open<Rec>(join(dir, 'recs'), { groupOf: (r) => r.pod });
  const created = await store.create({ id: 'a', pod: 'p1', n: 0, tags: [] });
  assert.ok(Object.isFrozen(created) && Object.isFrozen(created.tags));
  assert.throws(() => (created as Rec).tags.push('x'), TypeError);
  await assert.rejects(store.create({ id: 'a', pod: 'p1', n: 0, tags: [] }), /already exists/);
  // A hundred increments at once: each sees the result of the one before.
  await Promise.all(Array.from({ length: 100 }, () => store.update('a', (cur) => ({ ...cur, n: cur.n + 1 }))));
  assert.equal(store.get('a')!.n, 100);
  assert.equal(await store.update('missing', (cur) => cur), undefined);
  // Files and the directory are root's alone.
  assert.equal(statSync(join(dir, 'recs')).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, 'recs', 'a.json')).mode & 0o777, 0o600);
  // What was persisted is what a new store reads.
  const reopened = await RecordStore.open<Rec>(join(dir, 'recs'), { groupOf: (r) => r.pod });
  assert.equal(reopened.get('a')!.n, 100);
  assert.deepEqual(reopened.byGroup('p1').map((r) => r.id), ['a']);
});

test('the group index follows creates, moves and deletes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cricket-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await RecordStore.open<Rec>(dir, { groupOf: (r) => r.pod });
  await store.create({ id: 'a', pod: 'p1', n: 0, tags: [] });
  await store.create({ id: 'b', pod: 'p1', n: 0, tags: [] });
  await store.create({ id: 'c', pod: 'p2', n: 0, tags: [] });
  assert.deepEqual(store.byGroup('p1').map((r) => r.id).sort(), ['a', 'b']);
  await store.update('b', (cur) => ({ ...cur, pod: 'p2' }));
  assert.deepEqual(store.byGroup('p1').map((r) => r.id), ['a']);
  assert.deepEqual(store.byGroup('p2').map((r) => r.id).sort(), ['b', 'c']);
  await store.delete('a');
  assert.deepEqual(store.byGroup('p1'), []);
  // a.json became a spare file, emptied, which no reader takes for a record (the others hold
  // earlier versions of live records, to be overwritten by the next write).
  const names = readdirSync(dir);
  assert.deepEqual(names.filter((n) => !n.startsWith('.spare-')).sort(), ['b.json', 'c.json']);
  for (const n of names.filter((n) => n.startsWith('.spare-'))) assert.ok(!readFileSync(join(dir, n), 'utf8').includes('"id":"a"'), n);
  assert.equal(store.find('c')?.id, 'c');
});

test('a name is held by one id; a retry sees the holder and its digest', () => {
  const names = new NameIndex();
  names.reserve('pod/x', { id: '1', digest: 'd1' }, 'pod x');
  assert.throws(() => names.reserve('pod/x', { id: '2', digest: 'd1' }, 'pod x'), { kind: 'already-exists' });
  assert.equal(names.holder('pod/x')?.id, '1');
  names.release('pod/x', '2');
  assert.equal(names.holder('pod/x')?.id, '1', 'only the holder releases a name');
  names.release('pod/x', '1');
  assert.equal(names.holder('pod/x'), undefined);
  names.reserve('pod/x', { id: '2', digest: 'd2', creating: Promise.resolve() }, 'pod x');
  names.settle('pod/x', '2');
  assert.deepEqual(names.holder('pod/x'), { id: '2', digest: 'd2' });
});

test('undo steps run newest first, are retried, and failures are reported by name', async () => {
  const order: string[] = [];
  const rollback = new Rollback();
  let flaky = 0;
  rollback.add('first', async () => order.push('first'));
  rollback.add('always fails', async () => {
    order.push('fails');
    throw new Error('no');
  });
  rollback.add('flaky', async () => {
    order.push('flaky');
    if (++flaky < 2) throw new Error('once');
  });
  const failed = await rollback.run(logger.child({ test: true }), { attempts: 3, retryDelayMs: 1 });
  assert.deepEqual(failed, ['always fails']);
  assert.deepEqual(order, ['flaky', 'flaky', 'fails', 'fails', 'fails', 'first']);
  assert.deepEqual(rollback.names, [], 'a rollback runs once');
});

test('the request digest ignores the order of map entries, not their content', () => {
  const a = requestDigest({ labels: { a: '1', b: '2' }, n: 1n }, 'runc');
  const b = requestDigest({ n: 1n, labels: { b: '2', a: '1' } }, 'runc');
  assert.equal(a, b);
  assert.notEqual(a, requestDigest({ labels: { a: '1', b: '3' }, n: 1n }, 'runc'));
  assert.notEqual(a, requestDigest({ labels: { a: '1', b: '2' }, n: 1n }, ''));
  assert.notEqual(requestDigest(['a', 'b']), requestDigest(['b', 'a']));
});
