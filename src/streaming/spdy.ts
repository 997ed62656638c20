import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type transportTypes from 'spdy-transport';

const require = createRequire(import.meta.url);
const transport = require('spdy-transport') as typeof transportTypes;

export type SpdyConnection = transportTypes.Connection;
export type SpdyStream = transportTypes.Stream;

export const HEADER_PROTOCOL_VERSION = 'X-Stream-Protocol-Version';
export const HEADER_ACCEPTED_PROTOCOL_VERSIONS = 'X-Accepted-Stream-Protocol-Versions';
export const SPDY_31 = 'SPDY/3.1';

let patched = false;

/**
 * Makes spdy-transport speak SPDY the way Kubernetes' spdystream (Go) does:
 *  - spdystream's SYN_STREAM frames carry only the application's headers (streamType, port,
 *    requestID), not the HTTP pseudo-headers spdy-transport insists on: supply them;
 *  - spdystream has no flow control: it never sends WINDOW_UPDATE and ignores ours. A sender
 *    that waits for window updates stalls after 64 KiB, so the send side of every stream's
 *    window is made unlimited (TCP back-pressure still applies through the framer).
 */
function patchTransport(): void {
  if (patched) return;
  patched = true;
  const proto = Object.getPrototypeOf(transport.protocol.spdy.parser.create({ isServer: true })) as transportTypes.Parser;
  const original = proto.onSynHeadFrame;
  proto.onSynHeadFrame = function onSynHeadFrame(this: transportTypes.Parser, type, flags, body, callback) {
    if (type !== 0x01) return original.call(this, type, flags, body, callback);
    const parseKVs = proto.parseKVs;
    this.parseKVs = (buffer, cb) =>
      parseKVs.call(this, buffer, (err, headers) => {
        if (headers) {
          headers[':method'] ??= 'POST';
          headers[':path'] ??= '/';
        }
        cb(err, headers);
      });
    try {
      return original.call(this, type, flags, body, callback);
    } finally {
      delete (this as { parseKVs?: unknown }).parseKVs;
    }
  };
}

/** Disables send-side flow control of one stream (see patchTransport). */
export function unlimitedSendWindow(stream: SpdyStream): void {
  const side = stream._spdyState.window.send;
  side.current = 1 << 30;
  side.max = 1 << 30;
  side.update = (_size, callback) => {
    if (callback) process.nextTick(callback);
  };
}

/** A SPDY/3 session on an already upgraded socket (or a WebSocket tunnel). */
export function spdyConnection(socket: Duplex, isServer: boolean): SpdyConnection {
  patchTransport();
  const conn = transport.connection.create(socket, { protocol: 'spdy', isServer, windowSize: 1 << 24 });
  if (isServer) {
    conn.on('stream', (stream: SpdyStream) => unlimitedSendWindow(stream));
    // Registered first so that the limit is lifted before the application sees the stream.
  }
  return conn;
}

/** The protocol versions a request offers, in its order ("a, b" and repeated headers alike). */
export function offeredProtocols(req: IncomingMessage, header = HEADER_PROTOCOL_VERSION): string[] {
  const raw = req.headers[header.toLowerCase()];
  const values = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

/** kubelet's negotiation: the first protocol of the client's list that the server supports. */
export function negotiate(offered: string[], supported: readonly string[]): string | undefined {
  return offered.find((p) => supported.includes(p));
}

export function isSpdyUpgrade(req: IncomingMessage): boolean {
  const connection = String(req.headers.connection ?? '').toLowerCase();
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  return connection.includes('upgrade') && upgrade.includes(SPDY_31.toLowerCase());
}

/** Writes a plain HTTP error on a socket that was not upgraded, and closes it. */
export function rejectSocket(socket: Duplex, status: number, reason: string, body: string, headers: Record<string, string> = {}): void {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const text = `${body}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n` +
      `${extra}Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/**
 * Accepts a SPDY/3.1 upgrade (kubelet's httpstream.Handshake + spdy.ResponseUpgrader): picks the
 * protocol, answers 101 and starts a server session on the socket. Returns undefined after
 * answering the client with an error. A request without X-Stream-Protocol-Version gets
 * `fallback` (the v1 remotecommand protocol), or an error if there is none.
 */
export function acceptSpdy(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  supported: readonly string[],
  fallback?: string,
): { conn: SpdyConnection; protocol: string } | undefined {
  if (!isSpdyUpgrade(req)) {
    rejectSocket(socket, 400, 'Bad Request', 'unable to upgrade: missing upgrade headers in request');
    return undefined;
  }
  const offered = offeredProtocols(req);
  let protocol: string | undefined;
  if (offered.length === 0) {
    if (fallback === undefined) {
      rejectSocket(socket, 400, 'Bad Request', `unable to upgrade: ${HEADER_PROTOCOL_VERSION} is required`);
      return undefined;
    }
    protocol = fallback;
  } else {
    protocol = negotiate(offered, supported);
    if (!protocol) {
      rejectSocket(
        socket,
        403,
        'Forbidden',
        `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${supported.join(' ')}]`,
        { [HEADER_ACCEPTED_PROTOCOL_VERSIONS]: supported.join(', ') },
      );
      return undefined;
    }
  }
  const versionHeader = offered.length > 0 ? `${HEADER_PROTOCOL_VERSION}: ${protocol}\r\n` : '';
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${SPDY_31}\r\n${versionHeader}\r\n`);
  if (head.length > 0) socket.unshift(head);
  return { conn: spdyConnection(socket, true), protocol };
}

/** A header of a SPDY stream (names are lower case on the wire). */
export function streamHeader(stream: SpdyStream, name: string): string {
  const value = stream.headers[name.toLowerCase()];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/** Sends SYN_REPLY: spdystream clients wait for it before using a stream. */
export function replyStream(stream: SpdyStream): void {
  stream.respond(200, {});
}

/**
 * Ends a SPDY session: GOAWAY once the given streams have flushed their FIN, then the socket,
 * whether or not the client closes its side within `graceMs`.
 */
export async function closeSpdy(conn: SpdyConnection, finished: Promise<unknown>[], graceMs = 1000): Promise<void> {
  await Promise.race([Promise.allSettled(finished), new Promise((r) => setTimeout(r, graceMs).unref())]);
  const socket = conn.socket;
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), graceMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  try {
    conn.end();
  } catch {
    socket.destroy();
  }
}

/** Resolves when a writable side has flushed (its FIN is queued) or the stream is gone. */
export function streamFinished(stream: SpdyStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableFinished || stream.destroyed) return resolve();
    stream.once('finish', () => resolve());
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
  });
}
