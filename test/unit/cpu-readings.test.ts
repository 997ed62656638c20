// The previous CPU reading per cgroup, and how stale ones go.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CpuReadings } from '../../src/stats/cpu-readings.js';

const s = (seconds: number) => BigInt(seconds) * 1_000_000_000n;

test('each reading gives back the one before it', () => {
  const r = new CpuReadings();
  assert.equal(r.record('a', { at: s(1), cpuNs: 10n }), undefined);
  assert.deepEqual(r.record('a', { at: s(2), cpuNs: 30n }), { at: s(1), cpuNs: 10n });
  assert.equal(r.record('b', { at: s(2), cpuNs: 5n }), undefined);
});

test('a stats call over 100 containers sweeps at most once, not once per container', () => {
  const r = new CpuReadings();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 100; i++) r.record(`c${i}`, { at: s(round) + BigInt(i), cpuNs: BigInt(i) });
  }
  // Three rounds within ten seconds: one sweep, when the map first passed 64.
  assert.equal(r.sweeps, 1);
  assert.equal(r.size, 100);
});

test('readings no one has asked for in a minute are dropped at the next sweep', () => {
  const r = new CpuReadings();
  for (let i = 0; i < 100; i++) r.record(`old${i}`, { at: s(0), cpuNs: 1n });
  for (let i = 0; i < 10; i++) r.record(`new${i}`, { at: s(55), cpuNs: 1n });
  assert.equal(r.size, 110, 'nothing is stale yet');
  r.record('new0', { at: s(66), cpuNs: 2n });
  assert.equal(r.size, 10, 'the hundred old readings are gone, the recent ones kept');
  assert.deepEqual(r.record('new1', { at: s(67), cpuNs: 2n }), { at: s(55), cpuNs: 1n });
});
