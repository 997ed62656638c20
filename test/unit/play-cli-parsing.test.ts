import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandArgs } from '../../src/cli/args.js';
import { CriLogParser } from '../../src/cli/query/cri-log.js';
import { parseDuration } from '../../src/cli/duration.js';
import { age } from '../../src/cli/query/output.js';

test('CRI log records: partial records joined, streams kept apart, an unfinished record waits', () => {
  const p = new CriLogParser();
  const first = p.push('2024-01-01T00:00:00.000000001Z stdout P hel\n2024-01-01T00:00:00.1Z stderr F oops\n2024-01-01T00:00:00.2Z stdout F lo\n2024-01-01T00:00:00.3Z stdout F');
  assert.deepEqual(first.map((l) => `${l.stream}:${l.text}`), ['stderr:oops', 'stdout:hello']);
  assert.deepEqual(p.push(' world\nnot a record\n').map((l) => l.text), ['world']);
  assert.deepEqual(p.push('2024-01-01T00:00:00.4Z stdout F\n').map((l) => l.text), [''], 'an empty line has no text after the tag');
});

test('client flags: one-letter forms, booleans that take no value, -- ends the flags', () => {
  const spec = { boolean: ['down', 'all', 'stdin', 'tty'], short: { a: 'all', i: 'stdin', t: 'tty', c: 'container', o: 'output' } };
  assert.deepEqual(parseCommandArgs(['--down', 'f.yaml'], spec), { flags: { down: 'true' }, positional: ['f.yaml'] });
  assert.deepEqual(parseCommandArgs(['-it', 'pod', '-c', 'app', '--', 'sh', '-c', 'ls -a'], spec), { flags: { stdin: 'true', tty: 'true', container: 'app' }, positional: ['pod', 'sh', '-c', 'ls -a'] });
  assert.deepEqual(parseCommandArgs(['-a', '-o', 'json'], spec), { flags: { all: 'true', output: 'json' }, positional: [] });
  assert.deepEqual(parseCommandArgs(['play', '-'], spec).positional, ['play', '-'], 'a lone - is stdin, not a flag');
  assert.throws(() => parseCommandArgs(['-x'], spec), /unknown flag -x/);
});

test('durations and ages', () => {
  assert.equal(parseDuration('500ms', '--x'), 500);
  assert.equal(parseDuration('10s', '--x'), 10_000);
  assert.equal(parseDuration('5m', '--x'), 300_000);
  assert.equal(parseDuration('250', '--x'), 250);
  assert.throws(() => parseDuration('soon', '--backoff'), /--backoff: "soon" is not a duration/);
  const now = Date.now();
  assert.equal(age(BigInt(now - 5000) * 1_000_000n, now), '5s');
  assert.equal(age(BigInt(now - 600_000) * 1_000_000n, now), '10m');
  assert.equal(age(BigInt(now - 3 * 86_400_000) * 1_000_000n, now), '3d');
});
