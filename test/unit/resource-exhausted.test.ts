// ENOSPC, EDQUOT, EMFILE and ENFILE become RESOURCE_EXHAUSTED wherever they come from: a Node
// system call, a tool's stderr, deep in a cause chain, or among the reasons of an AggregateError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { CricketError, exhaustion, invalidArgument, withContext } from '../../src/errors.js';
import { run } from '../../src/process/run.js';
import { toServiceError } from '../../src/server/status-codes.js';
import { writeFileAtomic } from '../../src/store/atomic-file.js';

/** A real ENOSPC: /dev/full refuses every write with it. */
async function realEnospc(): Promise<NodeJS.ErrnoException> {
  try {
    await writeFile('/dev/full', 'x');
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('/dev/full accepted a write');
}

test('an ENOSPC from a system call is RESOURCE_EXHAUSTED, also when wrapped', async () => {
  const err = await realEnospc();
  assert.equal(err.code, 'ENOSPC');
  assert.equal(toServiceError(err).code, status.RESOURCE_EXHAUSTED);
  // Wrapped with a step: the kind says so, and the message keeps the step.
  const wrapped = withContext('CreateContainer app in pod p1', err);
  assert.equal(wrapped.kind, 'resource-exhausted');
  const mapped = toServiceError(withContext('outer step', wrapped));
  assert.equal(mapped.code, status.RESOURCE_EXHAUSTED);
  assert.match(mapped.details!, /^outer step: CreateContainer app in pod p1: ENOSPC: no space left on device/);
  // Wrapped by someone else, two causes deep, in a plain Error and an internal CricketError.
  const deep = new Error('persisting the record failed', { cause: new CricketError('internal', 'write', { cause: err }) });
  const d = toServiceError(deep);
  assert.equal(d.code, status.RESOURCE_EXHAUSTED);
  assert.equal(d.details, 'persisting the record failed (no space left on device)');
  // One of several parallel steps ran out of space.
  assert.equal(toServiceError(new AggregateError([new Error('other'), err], 'steps failed')).code, status.RESOURCE_EXHAUSTED);
});

test('a tool that reports a full disk on stderr is RESOURCE_EXHAUSTED with the tool\'s words', async () => {
  const err = await run('dd', ['if=/dev/zero', 'of=/dev/full', 'bs=512', 'count=1']).then(
    () => assert.fail('dd wrote to /dev/full'),
    (e: unknown) => e,
  );
  const wrapped = withContext('pod p1: starting pause', err);
  assert.equal(wrapped.kind, 'resource-exhausted');
  const mapped = toServiceError(wrapped);
  assert.equal(mapped.code, status.RESOURCE_EXHAUSTED);
  assert.match(mapped.details!, /^pod p1: starting pause: dd .*No space left on device/);
});

test('quota and file-descriptor exhaustion map the same way; other errors do not', () => {
  for (const [code, words] of [['EDQUOT', 'disk quota exceeded'], ['EMFILE', 'too many open files'], ['ENFILE', 'too many open files']] as const) {
    const err = Object.assign(new Error(`${code}: failed, open '/var/lib/cricket/x'`), { code, syscall: 'open' });
    assert.ok(exhaustion(err)?.startsWith(words), code);
    assert.equal(toServiceError(new Error('wrapper', { cause: err })).code, status.RESOURCE_EXHAUSTED, code);
  }
  // A failed spawn keeps only the code in its message.
  assert.equal(toServiceError(new Error('runc: spawn EMFILE')).code, status.RESOURCE_EXHAUSTED);
  // Not exhaustion: stays INTERNAL; a kind given on purpose is kept whatever the message says.
  assert.equal(toServiceError(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })).code, status.INTERNAL);
  assert.equal(toServiceError(new Error('x', { cause: { code: 'constructor' } })).code, status.INTERNAL);
  assert.equal(toServiceError(invalidArgument('image name "ENOSPC" is not valid')).code, status.INVALID_ARGUMENT);
  // A cause chain that loops ends.
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  assert.equal(toServiceError(a).code, status.INTERNAL);
});

test('a state file write that fails leaves the old content and no temp file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cricket-atomic-'));
  try {
    const file = join(dir, 'record.json');
    writeFileSync(file, 'old');
    // A directory in the way of the rename: the write itself succeeded, the step after failed.
    mkdirSync(join(dir, 'blocked.json', 'inside'), { recursive: true });
    await assert.rejects(writeFileAtomic(join(dir, 'blocked.json'), 'new'), /EISDIR|ENOTEMPTY|EEXIST/);
    assert.deepEqual(readdirSync(dir).sort(), ['blocked.json', 'record.json']);
    await writeFileAtomic(file, 'new');
    assert.equal(readFileSync(file, 'utf8'), 'new');
    assert.deepEqual(readdirSync(dir).sort(), ['blocked.json', 'record.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
