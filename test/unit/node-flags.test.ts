// The daemon's node flags: --expose-gc and a capped young generation, unless the operator chose.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { DAEMON_SEMI_SPACE_MIB, daemonNodeFlags } from '../../src/process/node-flags.js';

const cap = `--max-semi-space-size=${DAEMON_SEMI_SPACE_MIB}`;

test('the daemon gets --expose-gc and the young generation cap beside its own flags', () => {
  assert.deepEqual(daemonNodeFlags([], undefined), ['--expose-gc', cap]);
  assert.deepEqual(daemonNodeFlags(['--expose-gc', '--enable-source-maps'], ''), ['--expose-gc', '--enable-source-maps', cap]);
});

test("an operator's own semi-space size wins, on the command line or in NODE_OPTIONS", () => {
  assert.deepEqual(daemonNodeFlags(['--max-semi-space-size=16'], undefined), ['--max-semi-space-size=16', '--expose-gc']);
  assert.deepEqual(daemonNodeFlags([], '--max-old-space-size=512 --max_semi_space_size=32'), ['--expose-gc']);
  assert.deepEqual(daemonNodeFlags([], '--max-old-space-size=512'), ['--expose-gc', cap]);
});

// V8 grows the young generation when many objects survive its collections and keeps it at that
// size: this is what the cap is for, checked against the node that runs the daemon.
const burst = `
  const v8 = require('node:v8');
  let keep = [];
  for (let r = 0; r < 60; r++) {
    for (let i = 0; i < 20000; i++) keep.push({ a: i, b: 'x' + i });
    if (keep.length > 200000) keep = keep.slice(100000);
  }
  keep = null;
  gc();
  const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  process.stdout.write(String(s.space_size));
`;
const newSpaceAfterBurst = (flags: string[]) => Number(execFileSync(process.execPath, [...flags, '-e', burst], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }));

test('with the daemon flags the young generation stays within its cap after a burst and a full collection', () => {
  const MiB = 1024 * 1024;
  const capped = newSpaceAfterBurst(daemonNodeFlags([], undefined));
  assert.ok(capped <= 2 * DAEMON_SEMI_SPACE_MIB * MiB, `new space ${capped / MiB} MiB`);
  // The same burst without the cap: the young generation grows past it and stays so.
  const uncapped = newSpaceAfterBurst(['--expose-gc']);
  assert.ok(uncapped > 2 * DAEMON_SEMI_SPACE_MIB * MiB, `new space without the cap ${uncapped / MiB} MiB`);
});
