// A program cricket runs (runc, a CNI plugin, a mount helper) that goes on writing is stopped at
// the bound of what is kept of its output, instead of filling the daemon's memory until its
// timeout; one that answers within it is read whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CAPTURED_BYTES, ProgramError, run } from '../../src/process/run.js';

test('a program that writes without end is killed at the bound, with the start of its words', async () => {
  const started = Date.now();
  const err = await run('yes', ['cni result'], { timeoutMs: 60_000 }).then(
    () => assert.fail('yes never ends by itself'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ProgramError);
  assert.equal(err.overflowed, 'stdout');
  assert.equal(err.timedOut, false);
  assert.match(err.message, /^yes cni result wrote more than 8 MiB to stdout and was killed: cni result\ncni result/);
  assert.ok(err.stdout.length <= 4097, 'the error keeps only the start of the output');
  assert.ok(Date.now() - started < 30_000, 'stopped long before its timeout');
});

test('the same bound on stderr; output within it is read whole', async () => {
  const err = await run('sh', ['-c', 'yes oops >&2'], { timeoutMs: 60_000 }).catch((e: unknown) => e);
  assert.ok(err instanceof ProgramError);
  assert.equal(err.overflowed, 'stderr');
  const within = MAX_CAPTURED_BYTES - 1024;
  const { stdout } = await run('head', ['-c', String(within), '/dev/zero'], { timeoutMs: 60_000 });
  assert.equal(stdout.length, within);
});
