// The streaming server's bounds: a connection must finish its upgrade request in time, headers
// are bounded, and so is the number of sessions at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { useCricket } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import { spdyPortForward, UpgradeError, webSocketSession } from '../client/streaming.js';

const d = useCricket();
/** The server's handshake deadline is 10 s; the machine is shared, so allow a lot more. */
const CLOSED_WITHIN_MS = 30_000;

let podId: string | undefined;
let pod: Record<string, unknown> | undefined;
async function portForwardUrl(): Promise<string> {
  if (!podId) {
    pod = podConfig(d, 'limits');
    podId = (await runPod(d, pod)).id;
  }
  return (await d.cri.runtime.call<{ url: string }>('PortForward', { pod_sandbox_id: podId, port: [] })).url;
}

/** Resolves with how long the server took to close a connection on which `send` was written. */
function closedAfter(url: string, send: string): Promise<{ ms: number; received: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let received = '';
    const socket: Socket = connect({ host: hostname, port: Number(port) }, () => {
      if (send) socket.write(send);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept a connection that sent ${JSON.stringify(send)} open for ${CLOSED_WITHIN_MS} ms`));
    }, CLOSED_WITHIN_MS);
    socket.on('data', (c: Buffer) => (received += c.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - started, received });
    });
  });
}

test('a connection that sends nothing, or never finishes its request, is closed after the handshake deadline', async () => {
  const url = await portForwardUrl();
  const [silent, partial] = await Promise.all([
    closedAfter(url, ''),
    closedAfter(url, `POST ${new URL(url).pathname} HTTP/1.1\r\nHost: x\r\nUpgrade: SPDY/3.1\r\n`),
  ]);
  console.log(`closed after ${silent.ms} ms (silent) and ${partial.ms} ms (partial request)`);
  for (const r of [silent, partial]) assert.ok(r.ms >= 5000, `closed too early (${r.ms} ms): the deadline is 10 s`);
  // The token was not used by the unfinished request: it still works.
  const conn = await spdyPortForward(url);
  conn.socket.destroy();
});

test('oversized request headers are refused with 431', async () => {
  const url = await portForwardUrl();
  const r = await closedAfter(url, `POST ${new URL(url).pathname} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
  assert.match(r.received, /^HTTP\/1\.1 431 /);
});

test('sessions at once are bounded: the one over the limit is refused until another ends', async () => {
  const LIMIT = 256;
  const open: { socket: { destroy(): void } }[] = [];
  try {
    for (let i = 0; i < LIMIT; i++) open.push(await spdyPortForward(await portForwardUrl()));
    const extraUrl = await portForwardUrl();
    await assert.rejects(spdyPortForward(extraUrl), (err: unknown) => err instanceof UpgradeError && err.statusCode === 503);
    open.pop()!.socket.destroy();
    // The refused token was not consumed: once a session has ended it is good.
    let conn;
    for (let i = 0; i < 50 && !conn; i++) {
      conn = await spdyPortForward(extraUrl).catch(async (err: unknown) => {
        if (!(err instanceof UpgradeError) || err.statusCode !== 503) throw err;
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      });
    }
    assert.ok(conn, 'a session ended but the server still refused a new one');
    conn.socket.destroy();
  } finally {
    for (const c of open) c.socket.destroy();
  }
  await d.cri.runtime.call('Version', {});
});

test('the handshake deadline is for the request only: a session lives on past it', async () => {
  await portForwardUrl();
  const container = await startContainer(d, podId!, pod!, containerConfig('shell', ['sleep', '3600']));
  const { url } = await d.cri.runtime.call<{ url: string }>('Exec', { container_id: container, cmd: ['sh', '-c', 'sleep 12; echo still here'], stdout: true, stderr: true });
  const r = await (await webSocketSession(url, ['v4.channel.k8s.io'])).done;
  assert.equal(r.stdout, 'still here\n');
  assert.equal(r.exitCode, 0);
});
