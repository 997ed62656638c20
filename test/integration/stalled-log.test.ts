// The daemon's stderr is a pipe whose reader has stopped taking lines (a paused pager, a stalled
// journal, a program stuck on a full disk). The daemon goes on answering; the lines waiting for
// that reader stay within a bound instead of growing with every call, and the ones dropped over
// it are counted in the log once the reader takes lines again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MAX_PENDING_LOG_BYTES } from '../../src/log/logger.js';
import { useCricket, waitFor } from '../harness/cricket.js';

const d = useCricket({ stderrUnread: true });

test('a stderr reader that stops costs log lines, not memory without end', async () => {
  const missing = 'f'.repeat(64);
  // Each refused call leaves a warning of some 230 bytes: this many are well over the bound.
  const calls = Math.ceil((MAX_PENDING_LOG_BYTES * 1.5) / 230);
  let refused = 0;
  for (let i = 0; i < calls; i += 200) {
    const batch = Math.min(200, calls - i);
    await Promise.all(Array.from({ length: batch }, () => d.cri.runtime.call('ContainerStatus', { container_id: missing }).catch(() => refused++)));
  }
  assert.equal(refused, calls, 'every call was answered, NOT_FOUND');
  await d.cri.runtime.call('Version', {});

  d.readStderr();
  const said = await waitFor('the count of dropped lines in the log', () => {
    const line = readFileSync(d.logFile, 'utf8').split('\n').find((l) => l.includes('"log lines dropped while stderr took none"'));
    return line ? (JSON.parse(line) as { dropped: number }) : undefined;
  });
  const refusals = readFileSync(d.logFile, 'utf8').split('\n').filter((l) => l.includes('"rpc failed"'));
  assert.ok(said.dropped > 0, 'lines over the bound were dropped');
  // Each refusal was written or counted (the count may also hold a line of the daemon's own).
  assert.ok(refusals.length + said.dropped >= calls && refusals.length + said.dropped <= calls + 10, `${refusals.length} written, ${said.dropped} dropped, of ${calls}`);
  // What waited for the reader: the bound, plus what the channel itself held. Node's stdio "pipe"
  // is a Unix socket pair, which holds up to its send buffer (net.core.wmem_default); twice that
  // leaves room for the write in flight. An unbounded buffer would have kept all 1.5 bounds.
  const socketBuffer = Number(readFileSync('/proc/sys/net/core/wmem_default', 'utf8'));
  const written = refusals.reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0);
  assert.ok(written <= MAX_PENDING_LOG_BYTES + 2 * socketBuffer, `${written} bytes of refusals were kept for the reader (socket buffer ${socketBuffer})`);
  assert.ok(MAX_PENDING_LOG_BYTES + 2 * socketBuffer < calls * 200, 'the check still tells a bound from none');
});
