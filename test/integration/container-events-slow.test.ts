// GetContainerEvents with a subscriber that never reads: the daemon keeps a bounded backlog for
// it, then drops it with RESOURCE_EXHAUSTED; a subscriber that reads gets every event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { status as grpcStatus } from '@grpc/grpc-js';
import { useCricket, waitFor } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod } from '../harness/pods.js';

const d = useCricket();
const EVENTS = '/runtime.v1.RuntimeService/GetContainerEvents';
/** Every event carries the pod's status and all its containers' statuses, annotations included. */
const BALLAST = 'x'.repeat(128 * 1024);
const CYCLES = 30;
/** Generous: encoding ~1 MiB messages leaves garbage that the collector takes in its own time. */
const RSS_BOUND_KIB = 96 * 1024;

function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

interface RawSubscriber {
  stream: http2.ClientHttp2Stream;
  /** Complete gRPC messages read so far. */
  messages(): number;
  /** grpc-status of the trailers, once the call has ended. */
  ended: Promise<number | undefined>;
  close(): void;
}

/**
 * A GetContainerEvents call over plain HTTP/2. With `read: false` the stream is never read and
 * its flow-control window is 1 KiB, so the daemon can send almost nothing.
 */
function subscribe(read: boolean): RawSubscriber {
  const session = http2.connect('http://localhost', {
    createConnection: () => connect(d.socket),
    settings: read ? {} : { initialWindowSize: 1024 },
  });
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': EVENTS, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined);
  stream.end(Buffer.from([0, 0, 0, 0, 0])); // one empty GetEventsRequest
  let buffered = Buffer.alloc(0);
  let count = 0;
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
      buffered = buffered.subarray(5 + buffered.readUInt32BE(1));
      count++;
    }
  };
  if (read) stream.on('data', onData);
  else stream.pause();
  const ended = new Promise<number | undefined>((resolve) => {
    stream.on('trailers', (trailers) => resolve(Number(trailers['grpc-status'])));
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) resolve(Number(headers['grpc-status']));
    });
    stream.on('close', () => resolve(undefined));
  });
  return {
    stream,
    messages: () => count,
    ended,
    close: () => session.destroy(),
  };
}

test('a subscriber that never reads is dropped with RESOURCE_EXHAUSTED, the daemon stays bounded, readers get every event', async () => {
  const pod = podConfig(d, 'events-flood', { annotations: { ballast: BALLAST } });
  const { id: podId } = await runPod(d, pod);
  const create = async (name: string) =>
    (await d.cri.runtime.call<{ container_id: string }>('CreateContainer', {
      pod_sandbox_id: podId,
      config: containerConfig(name, ['true'], { annotations: { ballast: BALLAST } }),
      sandbox_config: pod,
    })).container_id;
  for (const name of ['ballast-a', 'ballast-b', 'ballast-c']) await create(name);

  const reader = subscribe(true);
  const stalled = subscribe(false);
  // Both calls are registered once an event reaches the reader.
  await sleep(500);
  const base = rssKiB(d.pid());
  let peak = base;
  for (let i = 0; i < CYCLES; i++) {
    const id = await create(`flood-${i}`);
    await d.cri.runtime.call('RemoveContainer', { container_id: id });
    const rss = rssKiB(d.pid());
    peak = Math.max(peak, rss);
    assert.ok(rss - base < RSS_BOUND_KIB, `the daemon grew by ${Math.round((rss - base) / 1024)} MiB after ${2 * (i + 1)} events to a subscriber that does not read`);
  }
  console.log(`RSS ${base} KiB before ${2 * CYCLES} events of ~0.6 MiB, peak ${peak} KiB`);
  await d.cri.runtime.call('Version', {});

  // The reader got every event (a created and a deleted one per cycle, at least) and is still subscribed.
  await waitFor('every event at the reader', () => (reader.messages() >= 2 * CYCLES ? true : undefined), 30_000);
  const log = readFileSync(d.logFile, 'utf8');
  assert.match(log, /event subscriber dropped: it does not read its events/);

  // The stalled subscriber, reading at last, finds a short backlog and RESOURCE_EXHAUSTED.
  let drained = 0;
  stalled.stream.on('data', (c: Buffer) => (drained += c.length));
  stalled.stream.resume();
  const code = await Promise.race([stalled.ended, sleep(30_000).then(() => 'timeout' as const)]);
  assert.equal(code, grpcStatus.RESOURCE_EXHAUSTED, `the stalled call ended with ${String(code)}`);
  assert.ok(drained < 32 * 1024 * 1024, `the stalled subscriber still got ${drained} bytes`);
  stalled.close();
  reader.close();
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId }).catch(() => undefined);
});
