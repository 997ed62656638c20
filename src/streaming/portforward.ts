import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import { relayWithBackpressure, spdyOutbound, webSocketOutbound, type Outbound } from './backpressure.js';
import { dialPodPort, podNetwork, type PodConnection } from './pod-port.js';
import { replyStream, streamHeader, type SpdyConnection, type SpdyStream } from './spdy.js';
import type { ChannelConn } from './websocket.js';

/** How long the other direction may go on after the pod's side of a connection closed. */
const HALF_CLOSE_GRACE_MS = 1000;

/** The pod a port-forward session reaches, looked up again for each of its connections. */
export interface ForwardTarget {
  ctx: RuntimeContext;
  sandboxId: string;
  log: Logger;
}

/**
 * Relays one forwarded connection: client data to the pod and back. Resolves with the error
 * text when the connection to the pod failed, as kubelet reports it on the error stream. The
 * pod's network is looked up for each connection: a stopped pod is refused, whatever token or
 * session the client holds.
 */
async function relay(
  target: ForwardTarget,
  port: number,
  fromClient: Readable,
  toClient: Writable,
  outbound: Outbound,
  endToClient: () => void,
  active: Set<PodConnection>,
): Promise<string | undefined> {
  const { sandboxId, log } = target;
  const failed = (error: string) => `error forwarding port ${port} to pod ${sandboxId}, uid : ${error}`;
  let network;
  try {
    network = await podNetwork(target.ctx, sandboxId);
  } catch (err) {
    log.info({ port, err: (err as Error).message }, 'port-forward refused');
    fromClient.resume();
    return failed((err as Error).message);
  }
  const conn = dialPodPort(network, port);
  active.add(conn);
  fromClient.pipe(conn.input);
  fromClient.on('error', () => conn.input.end());
  void relayWithBackpressure(conn.output, toClient, outbound);
  conn.output.once('end', () => {
    endToClient();
    // The pod closed its side: give the client's side a moment, then close it as containerd does.
    setTimeout(() => conn.close(), HALF_CLOSE_GRACE_MS).unref();
  });
  const error = await conn.done;
  active.delete(conn);
  fromClient.unpipe(conn.input);
  if (error) log.info({ port, err: error }, 'port-forward connection failed');
  return error ? failed(error) : undefined;
}

/**
 * portforward.k8s.io over SPDY (kubelet's portforward/httpstream.go): the client opens a pair
 * of streams per connection (streamType error and data, the same requestID and port headers);
 * each complete pair is one TCP connection to the port in the pod's network namespace.
 */
export function serveSpdyPortForward(conn: SpdyConnection, target: ForwardTarget, streamCreationTimeoutMs: number, below?: Outbound): Promise<void> {
  const { sandboxId, log } = target;
  const outbound = spdyOutbound(conn, below);
  const pairs = new Map<string, { data?: SpdyStream; error?: SpdyStream; timer: NodeJS.Timeout }>();
  const active = new Set<PodConnection>();
  conn.on('error', () => undefined);
  conn.on('stream', (stream: SpdyStream) => {
    stream.on('error', () => undefined);
    const portText = streamHeader(stream, 'port');
    const type = streamHeader(stream, 'streamType');
    const port = Number(portText);
    if (!portText || !/^\d+$/.test(portText) || port < 1 || port > 65535 || (type !== 'error' && type !== 'data')) {
      // kubelet rejects such a stream: RST_STREAM instead of a reply.
      log.info({ port: portText, streamType: type }, 'port-forward stream rejected');
      stream.abort();
      return;
    }
    replyStream(stream);
    let requestId = streamHeader(stream, 'requestID');
    if (!requestId) requestId = String(type === 'error' ? stream.id : stream.id - 2);
    let pair = pairs.get(requestId);
    if (!pair) {
      const timer = setTimeout(() => {
        const p = pairs.get(requestId);
        pairs.delete(requestId);
        if (p?.error) p.error.end(`(conn=${sandboxId}, request=${requestId}) timed out waiting for streams`);
      }, streamCreationTimeoutMs);
      timer.unref();
      pair = { timer };
      pairs.set(requestId, pair);
    }
    if (pair[type]) {
      stream.end(`error processing stream for request ${requestId}: ${type} stream already assigned`);
      return;
    }
    pair[type] = stream;
    if (!pair.data || !pair.error) return;
    clearTimeout(pair.timer);
    pairs.delete(requestId);
    const { data, error } = pair;
    void relay(target, port, data, data, outbound, () => data.end(), active)
      .then((message) => {
        if (message) error.write(message);
        error.end();
        if (!data.writableEnded) data.end();
      })
      .catch((err: unknown) => {
        log.warn({ port, err }, 'port-forward stream failed');
        data.destroy();
        error.destroy();
      });
  });
  return new Promise((resolve) => {
    const done = () => {
      for (const c of active) c.close();
      for (const p of pairs.values()) clearTimeout(p.timer);
      resolve();
    };
    conn.once('close', done);
    conn.socket.once('close', done);
  });
}

/**
 * Port forwarding over a WebSocket (kubelet's portforward/websocket.go): for the i-th port,
 * channel 2i carries data both ways and 2i+1 errors; the server first writes the port as a
 * little-endian uint16 on both.
 */
export async function serveWebSocketPortForward(conn: ChannelConn, target: ForwardTarget, ports: number[]): Promise<void> {
  const outbound = webSocketOutbound(conn.ws);
  const active = new Set<PodConnection>();
  const portBytes = (p: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(p);
    return b;
  };
  for (let i = 0; i < ports.length; i++) {
    conn.send(2 * i, portBytes(ports[i]!));
    conn.send(2 * i + 1, portBytes(ports[i]!));
  }
  void conn.closed
    .then(() => {
      for (const c of active) c.close();
    })
    .catch((err: unknown) => target.log.warn({ err }, 'closing port-forward connections failed'));
  await Promise.all(
    ports.map(async (port, i) => {
      const message = await relay(target, port, conn.readers[2 * i]!, conn.writer(2 * i), outbound, () => undefined, active);
      if (message) await new Promise<void>((resolve) => conn.send(2 * i + 1, Buffer.from(message), () => resolve()));
    }),
  );
  conn.close();
}
