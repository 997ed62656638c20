// A streaming URL issued while a pod was ready must not reach anything once the pod stopped:
// above all, a stopped pod's port-forward must never land on the node's own loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { TEST_CGROUP_PARENT, useCricket } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import { forwardOverSpdy, spdyPortForward, spdySession, webSocketPortForward, webSocketSession } from '../client/streaming.js';

const d = useCricket();

/** A listener on the node's loopback that counts who connects, and echoes a greeting. */
async function nodeListener(): Promise<{ server: Server; port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.end('hello from the node\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    connections: () => count,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function portForwardUrl(podId: string, ports: number[] = []): Promise<string> {
  return (await d.cri.runtime.call<{ url: string }>('PortForward', { pod_sandbox_id: podId, port: ports })).url;
}

test("port-forward URLs of a pod that then stopped are refused and never reach the node's loopback", async () => {
  const listener = await nodeListener();
  try {
    const pod = podConfig(d, 'stopped-forward');
    const { id } = await runPod(d, pod);
    const spdyUrl = await portForwardUrl(id);
    const wsUrl = await portForwardUrl(id, [listener.port]);
    const sessionBefore = await spdyPortForward(await portForwardUrl(id));
    await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });

    // A session opened with a token issued before the stop.
    const conn = await spdyPortForward(spdyUrl);
    const r = await forwardOverSpdy(conn, listener.port, 0, 'GET / HTTP/1.0\r\n\r\n');
    conn.socket.destroy();
    assert.equal(r.data, '');
    assert.match(r.error, new RegExp(`^error forwarding port ${listener.port} to pod ${id}, uid : network namespace for sandbox "${id}" is closed`));

    // A session that was open before the stop: its next connection is refused too.
    const late = await forwardOverSpdy(sessionBefore, listener.port, 0, 'GET / HTTP/1.0\r\n\r\n');
    sessionBefore.socket.destroy();
    assert.equal(late.data, '');
    assert.match(late.error, /network namespace for sandbox ".*" is closed/);

    // WebSocket port-forward (ports in the URL).
    const ws = await webSocketPortForward(wsUrl, 'GET / HTTP/1.0\r\n\r\n');
    assert.equal(ws.data, '');
    assert.match(ws.error, /network namespace for sandbox ".*" is closed/);

    assert.equal(listener.connections(), 0, "the node's loopback was contacted for a stopped pod");
    await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
  } finally {
    await listener.close();
  }
});

test("a host-network pod forwards to the node's loopback while it is ready, and not after it stopped", async () => {
  const listener = await nodeListener();
  try {
    const pod = podConfig(d, 'hostnet-forward', {
      linux: { cgroup_parent: `/${TEST_CGROUP_PARENT}`, security_context: { namespace_options: { network: 'NODE' } } },
    });
    const { id } = await runPod(d, pod);
    const conn = await spdyPortForward(await portForwardUrl(id));
    const r = await forwardOverSpdy(conn, listener.port, 0, 'hi\n');
    conn.socket.destroy();
    assert.equal(r.error, '');
    assert.equal(r.data, 'hello from the node\n');
    assert.equal(listener.connections(), 1);

    const afterStop = await portForwardUrl(id);
    await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
    const conn2 = await spdyPortForward(afterStop);
    const refused = await forwardOverSpdy(conn2, listener.port, 0, 'hi\n');
    conn2.socket.destroy();
    assert.equal(refused.data, '');
    assert.match(refused.error, /network namespace for sandbox ".*" is closed/);
    assert.equal(listener.connections(), 1, 'a stopped host-network pod still reached the node');
    await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
  } finally {
    await listener.close();
  }
});

test('exec and attach URLs of a container whose pod then stopped are refused on the stream', async () => {
  const pod = podConfig(d, 'stopped-exec');
  const { id } = await runPod(d, pod);
  const container = await startContainer(d, id, pod, containerConfig('shell', ['sh', '-c', 'echo attached; exec sleep 3600'], { stdin: true }));
  const exec = (cmd: string[]) =>
    d.cri.runtime.call<{ url: string }>('Exec', { container_id: container, cmd, stdout: true, stderr: true, stdin: false, tty: false });
  const spdyExec = (await exec(['echo', 'ran'])).url;
  const wsExec = (await exec(['echo', 'ran'])).url;
  const attach = (await d.cri.runtime.call<{ url: string }>('Attach', { container_id: container, stdin: false, stdout: true, stderr: true, tty: false })).url;
  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });

  for (const [what, session] of [
    ['SPDY exec', spdySession(spdyExec, { stdout: true, stderr: true })],
    ['WebSocket exec', webSocketSession(wsExec, ['v4.channel.k8s.io'])],
    ['SPDY attach', spdySession(attach, { stdout: true, stderr: true })],
  ] as const) {
    const r = await (await session).done;
    assert.equal(r.stdout, '', what);
    assert.equal(r.status?.status, 'Failure', `${what}: ${r.error}`);
    assert.match(r.status?.message ?? '', /is not running|is not ready/, what);
  }
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
});
