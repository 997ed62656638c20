// Call deadlines under one timer (src/server/deadlines.ts), on a clock the test moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Deadlines, type Expiring } from '../../src/server/deadlines.js';

class Call implements Expiring {
  deadlineSlot = -1;
  expired = 0;
  constructor(readonly deadline: number) {}
  expire(): void {
    this.expired++;
  }
}

test('due items expire once, in time; removed ones never; slots are reused', async () => {
  const start = Date.now();
  const deadlines = new Deadlines<Call>();
  const soon = new Call(start + 20);
  const later = new Call(start + 60);
  const removed = new Call(start + 10);
  const far = new Call(start + 3_600_000);
  for (const c of [later, soon, removed, far]) deadlines.add(c);
  assert.equal(deadlines.size, 4);
  deadlines.remove(removed);
  assert.equal(removed.deadlineSlot, -1);
  assert.equal(deadlines.size, 3);
  await sleep(35);
  assert.deepEqual([soon.expired, later.expired, removed.expired], [1, 0, 0]);
  await sleep(50);
  assert.deepEqual([soon.expired, later.expired, far.expired], [1, 1, 0]);
  assert.equal(deadlines.size, 1);
  // A freed slot takes the next item: the table does not grow with calls made one after another.
  for (let i = 0; i < 100; i++) {
    const c = new Call(Date.now() + 60_000);
    deadlines.add(c);
    deadlines.remove(c);
  }
  assert.equal(deadlines.size, 1);
  assert.ok(deadlines.capacity <= 4, `${deadlines.capacity} slots`);
  deadlines.remove(far);
  assert.equal(deadlines.size, 0);
});

test('an expiry that throws does not stop the others; an item may re-add itself', async () => {
  const deadlines = new Deadlines<Call>();
  const now = Date.now();
  const thrower = new Call(now + 5);
  thrower.expire = () => {
    throw new Error('boom');
  };
  const fine = new Call(now + 5);
  let again: Call | undefined;
  fine.expire = () => {
    again = new Call(Date.now() + 5);
    deadlines.add(again);
  };
  deadlines.add(thrower);
  deadlines.add(fine);
  await sleep(40);
  assert.ok(again);
  assert.equal(again.expired, 1);
  assert.equal(deadlines.size, 0);
});
