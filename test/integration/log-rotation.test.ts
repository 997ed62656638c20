// Container logs: the exact CRI format conmon writes, and rotation by kubelet's rename +
// ReopenContainerLog without losing or duplicating a line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { status as grpcStatus } from '@grpc/grpc-js';
import { startCricket, type TestDaemon } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer, waitExited } from '../harness/pods.js';
import type { Message } from '../client/cri.js';

let d: TestDaemon;
let pod: Message;
let podId: string;

before(async () => {
  d = await startCricket();
  pod = podConfig(d, 'logs');
  podId = (await runPod(d, pod)).id;
});
after(async () => {
  await d.stop();
});

/** CRI log line: RFC3339Nano timestamp, stream, P(artial) or F(ull) tag, content. */
const CRI_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([PF]) (.*)$/s;

interface Entry {
  time: string;
  stream: string;
  tag: string;
  content: string;
}

function parse(text: string): Entry[] {
  assert.ok(text === '' || text.endsWith('\n'), 'every log entry ends with a newline');
  return text
    .slice(0, -1)
    .split('\n')
    .filter((l, i, all) => l !== '' || i < all.length - 1)
    .map((line) => {
      const m = CRI_LINE.exec(line);
      assert.ok(m, `not a CRI log line: ${JSON.stringify(line.slice(0, 200))}`);
      return { time: m[1]!, stream: m[2]!, tag: m[3]!, content: m[4]! };
    });
}

/** Joins P parts with the F that ends them, per stream, as kubelet reads the log. */
function messages(entries: Entry[], stream: string): { text: string; complete: boolean }[] {
  const out: { text: string; complete: boolean }[] = [];
  let pending = '';
  for (const e of entries.filter((x) => x.stream === stream)) {
    pending += e.content;
    if (e.tag === 'F') {
      out.push({ text: pending, complete: true });
      pending = '';
    }
  }
  if (pending) out.push({ text: pending, complete: false });
  return out;
}

test('the log is exactly the CRI format: long lines in P parts, a last line without newline as P', async () => {
  const long = 'x'.repeat(20000);
  const c = await startContainer(d, podId, pod, containerConfig('format', ['sh', '-c',
    `echo first; echo to-stderr >&2; printf '%s\\n' "$(head -c 20000 /dev/zero | tr '\\0' x)"; echo; printf 'no newline at the end'`]));
  await waitExited(d, c);
  const entries = parse(readFileSync(join(pod.log_directory as string, 'format', '0.log'), 'utf8'));
  for (const e of entries) assert.ok(!Number.isNaN(Date.parse(e.time)), e.time);
  const out = messages(entries, 'stdout');
  assert.deepEqual(out.map((m) => m.text), ['first', long, '', 'no newline at the end']);
  assert.deepEqual(out.map((m) => m.complete), [true, true, true, false]);
  // The 20000-byte line did not fit conmon's 8 KiB buffer: it came in P parts and one F.
  const longParts = entries.filter((e) => e.stream === 'stdout' && /^x+$/.test(e.content));
  assert.ok(longParts.length >= 3, `${longParts.length} parts`);
  assert.ok(longParts.slice(0, -1).every((e) => e.tag === 'P'));
  assert.equal(longParts.at(-1)!.tag, 'F');
  assert.deepEqual(messages(entries, 'stderr'), [{ text: 'to-stderr', complete: true }]);
  assert.equal(entries.at(-1)!.tag, 'P');
});

test('rotation while the container writes every few ms loses and duplicates nothing', async () => {
  const total = 1500;
  const c = await startContainer(d, podId, pod, containerConfig('writer', ['sh', '-c',
    `i=0; while [ $i -lt ${total} ]; do echo line-$i; i=$((i+1)); usleep 2000; done`]));
  const logPath = join(pod.log_directory as string, 'writer', '0.log');
  const rotated: string[] = [];
  for (let n = 0; n < 5; n++) {
    await sleep(400);
    const name = `${logPath}.${n}`;
    renameSync(logPath, name);
    rotated.push(name);
    const started = Date.now();
    await d.cri.runtime.call('ReopenContainerLog', { container_id: c });
    assert.ok(Date.now() - started < 2000);
    // The new file is there as soon as the call returns.
    assert.ok(existsSync(logPath), 'a fresh log file at the log path');
  }
  await waitExited(d, c);
  const files = [...rotated, logPath];
  const lines = files.flatMap((f) => messages(parse(readFileSync(f, 'utf8')), 'stdout').map((m) => m.text));
  const expected = Array.from({ length: total }, (_, i) => `line-${i}`);
  assert.equal(lines.length, total, `${lines.length} lines across ${files.length} files`);
  assert.deepEqual(lines, expected);
  // Every file got some of the output: the rotations happened while it wrote.
  for (const f of files.slice(1, -1)) assert.ok(readFileSync(f, 'utf8').length > 0, `${f} is empty`);
});

test('ReopenContainerLog of a stopped container fails and makes no file', async () => {
  const c = await startContainer(d, podId, pod, containerConfig('done', ['true']));
  await waitExited(d, c);
  const logPath = join(pod.log_directory as string, 'done', '0.log');
  renameSync(logPath, `${logPath}.old`);
  await assert.rejects(d.cri.runtime.call('ReopenContainerLog', { container_id: c }), (err: { code: number }) => err.code === grpcStatus.FAILED_PRECONDITION);
  assert.ok(!existsSync(logPath));
  await assert.rejects(d.cri.runtime.call('ReopenContainerLog', { container_id: 'missing' }), (err: { code: number }) => err.code === grpcStatus.NOT_FOUND);
});
