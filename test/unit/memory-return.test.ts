// Memory goes back after a wave of deletions: once per wave, not per deletion, never more often
// than the interval, and a failing collector is logged, not thrown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { exposedGc, MemoryReturn } from '../../src/daemon/memory-return.js';
import { EventBus, type LifecycleEventType } from '../../src/store/events.js';

const event = (type: LifecycleEventType) => ({ type, containerId: 'c', sandboxId: 's', at: 0n });

test('a wave of deletions leads to one compaction once it is quiet; other events to none', async () => {
  const bus = new EventBus();
  let collected = 0;
  let trimmed = 0;
  const m = new MemoryReturn({ quietMs: 50, minIntervalMs: 0, collect: () => collected++, trim: () => (trimmed++, true) });
  m.start(bus);
  try {
    for (let i = 0; i < 5; i++) {
      bus.emit(event('deleted'));
      await sleep(10);
    }
    bus.emit(event('created'));
    bus.emit(event('stopped'));
    assert.equal(collected, 0, 'nothing while deletions keep coming');
    await sleep(120);
    assert.deepEqual([collected, trimmed, m.runs], [1, 1, 1]);
    bus.emit(event('started'));
    await sleep(120);
    assert.equal(collected, 1);
  } finally {
    m.stop();
  }
  assert.equal(bus.subscribers, 0);
});

test('two waves closer than the interval: the second waits for it', async () => {
  const bus = new EventBus();
  const at: number[] = [];
  const m = new MemoryReturn({ quietMs: 20, minIntervalMs: 300, collect: () => at.push(Date.now()) });
  m.start(bus);
  try {
    bus.emit(event('deleted'));
    await sleep(60);
    bus.emit(event('deleted'));
    await sleep(100);
    assert.equal(at.length, 1, 'the second wave is held back');
    await sleep(300);
    assert.equal(at.length, 2);
    assert.ok(at[1]! - at[0]! >= 290, `${at[1]! - at[0]!} ms apart`);
  } finally {
    m.stop();
  }
});

test('a collector that throws is logged and the next wave still runs; nothing to do means no subscription', async () => {
  const bus = new EventBus();
  let calls = 0;
  const m = new MemoryReturn({ quietMs: 10, minIntervalMs: 0, collect: () => {
    calls++;
    if (calls === 1) throw new Error('boom');
  } });
  m.start(bus);
  try {
    bus.emit(event('deleted'));
    await sleep(50);
    bus.emit(event('deleted'));
    await sleep(50);
    assert.equal(calls, 2);
    assert.equal(m.runs, 1);
  } finally {
    m.stop();
  }
  const idle = new MemoryReturn({ quietMs: 10, minIntervalMs: 0 });
  idle.start(bus);
  assert.equal(bus.subscribers, 0);
});

test('exposedGc is the runtime gc only when node was started with --expose-gc', () => {
  const gc = exposedGc();
  assert.equal(gc !== undefined, typeof (globalThis as { gc?: unknown }).gc === 'function');
});
