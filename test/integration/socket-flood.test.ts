// Hostile clients on the CRI socket: floods and stalls cost the daemon one connection, bounded
// memory and no service for anyone else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { criClients } from '../client/cri.js';
import { useCricket, waitFor } from '../harness/cricket.js';
import { frame, PREFACE } from '../harness/http2-frames.js';

const d = useCricket();

const MiB = 1 << 20;

const SETTINGS = frame(4, 0, 0);
/** HEADERS on stream 1 (`:method: POST`) without END_HEADERS: a header block left open. */
const OPEN_BLOCK = frame(1, 0, 1, [0x83]);

function rss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number.parseInt(line!.split(/\s+/)[1]!, 10) * 1024;
}

async function connect(): Promise<net.Socket> {
  const socket = net.connect(d.socket);
  socket.on('error', () => {});
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** True once the bytes are handed to the kernel, false if the connection is gone. */
function send(socket: net.Socket, bytes: Buffer): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => socket.write(bytes, (err) => resolve(!err)));
}

/** When the daemon closes `socket` (ms since `from`), or undefined if it is still open after `ms`. */
function closedAt(socket: net.Socket, from: number, ms: number): Promise<number | undefined> {
  socket.resume(); // unread server bytes would hold back 'close'
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(Date.now() - from);
    const timer = setTimeout(() => resolve(undefined), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - from);
    });
  });
}

async function assertServing(): Promise<void> {
  const version = await d.cri.runtime.call<{ runtime_name: string }>('Version', {});
  assert.equal(version.runtime_name, 'cricket');
}

test('30 MB of empty CONTINUATION frames: the connection is closed, memory stays put, the daemon serves', async () => {
  const pid = d.pid();
  await assertServing();
  const before = rss(pid);
  const socket = await connect();
  const closed = closedAt(socket, Date.now(), 60_000);
  assert.ok(await send(socket, Buffer.concat([PREFACE, SETTINGS, OPEN_BLOCK])));
  const empty = frame(9, 0, 1);
  const chunk = Buffer.concat(Array.from({ length: Math.floor(MiB / empty.length) }, () => empty));
  let sent = 0;
  while (sent < 30_000_000 && (await send(socket, chunk))) sent += chunk.length;
  assert.notEqual(await closed, undefined, 'the daemon closes the flooding connection');
  assert.ok(sent < 30_000_000, `the daemon stopped reading the flood (${sent} bytes went out)`);
  await assertServing();
  assert.equal(d.pid(), pid);
  const grown = rss(pid) - before;
  assert.ok(grown < 64 * MiB, `daemon RSS grew by ${(grown / MiB).toFixed(1)} MiB`);
});

test('a preface or header block left incomplete is closed after the time limit, trickling or not', async () => {
  const cases: Array<[string, Buffer]> = [
    ['half a preface', PREFACE.subarray(0, 10)],
    ['HEADERS without END_HEADERS', Buffer.concat([PREFACE, SETTINGS, OPEN_BLOCK])],
    ['half a HEADERS frame', Buffer.concat([PREFACE, SETTINGS, frame(1, 0x4, 1, Buffer.alloc(100, 0x83)).subarray(0, 30)])],
    ['an open block fed a CONTINUATION every 500 ms', Buffer.concat([PREFACE, SETTINGS, OPEN_BLOCK])],
  ];
  const pid = d.pid();
  const stalled = await Promise.all(
    cases.map(async ([name, bytes]) => {
      const socket = await connect();
      const closed = closedAt(socket, Date.now(), 60_000);
      assert.ok(await send(socket, bytes));
      return { name, socket, closed };
    }),
  );
  const trickler = stalled[3]!.socket;
  // Far fewer frames than the per-block cap: only the clock can end this one.
  let trickled = 0;
  const ticker = setInterval(() => {
    if (trickled++ < 100) void send(trickler, frame(9, 0, 1, [0x86]));
  }, 500);
  try {
    await assertServing(); // others are served meanwhile
    for (const { name, closed } of stalled) {
      const ms = await closed;
      assert.notEqual(ms, undefined, `${name}: still open after 60 s`);
      // The limit is 10 s; closing much earlier would mean the input was rejected, not timed out.
      assert.ok(ms! >= 5000, `${name}: closed after ${ms} ms, before the time limit`);
    }
  } finally {
    clearInterval(ticker);
    for (const { socket } of stalled) socket.destroy();
  }
  assert.ok(trickled >= 10);
  assert.equal(d.pid(), pid);
  await assertServing();
});

test('connections beyond the cap are closed at once and logged; new ones are served once others go', async () => {
  const total = 300;
  const sockets: net.Socket[] = [];
  const outcomes: Array<'served' | 'refused' | 'no answer'> = [];
  try {
    for (let start = 0; start < total; start += 25) {
      const batch = Array.from({ length: Math.min(25, total - start) }, async () => {
        const socket = net.connect(d.socket);
        socket.on('error', () => {});
        sockets.push(socket);
        const outcome = await new Promise<'served' | 'refused' | 'no answer'>((resolve) => {
          let received = 0;
          const timer = setTimeout(() => resolve('no answer'), 30_000);
          // A served connection gets the server's SETTINGS (9+ bytes); a refused one nothing.
          socket.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received >= 9) {
              clearTimeout(timer);
              resolve('served');
            }
          });
          socket.once('close', () => {
            clearTimeout(timer);
            resolve(received >= 9 ? 'served' : 'refused');
          });
          socket.write(Buffer.concat([PREFACE, SETTINGS]));
        });
        outcomes.push(outcome);
      });
      await Promise.all(batch);
    }
    const count = (o: string): number => outcomes.filter((x) => x === o).length;
    assert.equal(count('no answer'), 0);
    // The test client's own connections count too, so a few less than 256 may be served here.
    assert.ok(count('served') <= 256 && count('served') >= 246, `${count('served')} served`);
    assert.equal(count('refused'), total - count('served'));
    const log = await waitFor('the refusal in the log', () =>
      readFileSync(d.logFile, 'utf8').includes('CRI connection limit reached') ? true : undefined,
    );
    assert.ok(log);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
  // A new client (a new connection) is served again once the idle ones are gone.
  await waitFor('a new connection to be served', async () => {
    const fresh = criClients(d.socket, { deadlineMs: 5000 });
    try {
      return await fresh.runtime.call('Version', {});
    } catch {
      return undefined;
    } finally {
      fresh.close();
    }
  }, 30_000);
});
