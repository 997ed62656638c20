// Port forwarding into a pod's network namespace: SPDY, WebSocket, and SPDY tunnelled in WebSocket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { status as grpcStatus } from '@grpc/grpc-js';
import { startCricket, type TestDaemon } from '../harness/cricket.js';
import { containerConfig, httpGetEventually, podConfig, runPod, startContainer } from '../harness/pods.js';
import { forwardOverSpdy, spdyPortForward, tunnelledPortForward, upgrade, UpgradeError, webSocketPortForward } from '../client/streaming.js';

let d: TestDaemon;
let podId: string;
const REQUEST = 'GET /index.html HTTP/1.0\r\n\r\n';
const PAGE = 'page served inside the pod\n';

before(async () => {
  d = await startCricket();
  const pod = podConfig(d, 'forward-target');
  const run = await runPod(d, pod);
  podId = run.id;
  // The server listens on the pod's loopback only: nothing but a forward from inside reaches it.
  await startContainer(d, podId, pod, containerConfig('web', ['sh', '-c',
    `mkdir -p /www && printf '${PAGE.replace('\n', '\\n')}' > /www/index.html && exec httpd -f -p 127.0.0.1:80 -h /www`]));
  // Wait for the server with one forward that may fail while it starts.
  await httpReady();
});
after(async () => {
  await d.stop();
});

async function pfUrl(ports: number[] = []): Promise<string> {
  const { url } = await d.cri.runtime.call<{ url: string }>('PortForward', { pod_sandbox_id: podId, port: ports });
  return url;
}

async function httpReady(): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const conn = await spdyPortForward(await pfUrl());
    const r = await forwardOverSpdy(conn, 80, 0, REQUEST, true);
    conn.socket.destroy();
    if (r.data.includes('200 OK')) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('httpd in the pod did not come up');
}

test('SPDY port-forward: two connections over one session fetch the page', async () => {
  const conn = await spdyPortForward(await pfUrl());
  const [a, b] = await Promise.all([forwardOverSpdy(conn, 80, 0, REQUEST), forwardOverSpdy(conn, 80, 1, REQUEST)]);
  for (const r of [a, b]) {
    assert.match(r.data, /^HTTP\/1\.[01] 200 OK\r\n/);
    assert.ok(r.data.endsWith(`\r\n\r\n${PAGE}`), r.data);
    assert.equal(r.error, '');
  }
  // A third connection later on the same session, half-closed by the client after its request.
  const c = await forwardOverSpdy(conn, 80, 2, REQUEST, true);
  assert.ok(c.data.endsWith(PAGE));
  conn.socket.destroy();
});

test('a port nobody listens on: the error stream says so', async () => {
  const conn = await spdyPortForward(await pfUrl());
  const r = await forwardOverSpdy(conn, 81, 0, REQUEST);
  assert.equal(r.data, '');
  assert.match(r.error, new RegExp(`^error forwarding port 81 to pod ${podId}, uid : .*refused`, 'i'));
  conn.socket.destroy();
});

test('port-forward over WebSocket (v4.channel.k8s.io): port prefix, then data', async () => {
  const r = await webSocketPortForward(await pfUrl([80]), REQUEST);
  assert.deepEqual(r.portPrefixes, [80, 80]);
  assert.match(r.data, /200 OK/);
  assert.ok(r.data.endsWith(PAGE));
  assert.equal(r.error, '');
});

test('SPDY tunnelled over WebSocket (SPDY/3.1+portforward.k8s.io)', async () => {
  const conn = await tunnelledPortForward(await pfUrl());
  const r = await forwardOverSpdy(conn, 80, 0, REQUEST);
  assert.match(r.data, /200 OK/);
  assert.ok(r.data.endsWith(PAGE));
  conn.socket.destroy();
});

test('a port-forward token is good once, and for port-forward only', async () => {
  const url = await pfUrl();
  (await spdyPortForward(url)).socket.destroy();
  await assert.rejects(spdyPortForward(url), (err: unknown) => err instanceof UpgradeError && err.statusCode === 404);
  await assert.rejects(
    upgrade((await pfUrl()).replace('/portforward/', '/exec/'), { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' }),
    (err: unknown) => err instanceof UpgradeError && err.statusCode === 404,
  );
  // An unknown protocol is refused with the list of accepted ones.
  await assert.rejects(
    upgrade(await pfUrl(), { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.example.com' }),
    (err: unknown) => err instanceof UpgradeError && err.statusCode === 403,
  );
});

test('PortForward validates the pod', async () => {
  await assert.rejects(d.cri.runtime.call('PortForward', { pod_sandbox_id: '', port: [80] }), (err: { code: number }) => err.code === grpcStatus.INVALID_ARGUMENT);
  await assert.rejects(d.cri.runtime.call('PortForward', { pod_sandbox_id: 'nope', port: [80] }), (err: { code: number }) => err.code === grpcStatus.NOT_FOUND);
});

test('the pod-level server is also reachable on its IP (sanity check of the pod network)', async () => {
  const pod = podConfig(d, 'forward-ip');
  const { id, ip } = await runPod(d, pod);
  await startContainer(d, id, pod, containerConfig('web', ['sh', '-c', `mkdir -p /www && echo ip-page > /www/index.html && exec httpd -f -p 80 -h /www`]));
  const res = await httpGetEventually(ip, 80);
  assert.equal(res.body, 'ip-page\n');
  const conn = await spdyPortForward((await d.cri.runtime.call<{ url: string }>('PortForward', { pod_sandbox_id: id, port: [] })).url);
  const r = await forwardOverSpdy(conn, 80, 0, REQUEST);
  assert.ok(r.data.endsWith('ip-page\n'));
  conn.socket.destroy();
});
