import type { IncomingMessage } from 'node:http';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { rejectSocket } from './spdy.js';

/** Kubernetes' WebSocket subprotocols (apimachinery wsstream, kubelet cri/streaming). */
export const WS_CHANNEL = 'channel.k8s.io';
export const WS_BASE64_CHANNEL = 'base64.channel.k8s.io';
export const WS_V4_CHANNEL = 'v4.channel.k8s.io';
export const WS_V4_BASE64_CHANNEL = 'v4.base64.channel.k8s.io';
export const WS_V5_CHANNEL = 'v5.channel.k8s.io';
export const WS_SPDY_TUNNEL_PREFIX = 'SPDY/3.1+';
/** v5: a message [255, N] closes channel N from the client's side (stdin's end). */
export const STREAM_CLOSE = 255;

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase() === 'websocket' && String(req.headers.connection ?? '').toLowerCase().includes('upgrade');
}

export function offeredSubprotocols(req: IncomingMessage): string[] {
  return String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * Accepts a WebSocket upgrade with one of `supported` subprotocols (the client's first choice
 * that the server supports; "" when the client offers none and "" is supported), or answers
 * 400/403 and returns undefined.
 */
export function acceptWebSocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  supported: readonly string[],
): Promise<{ ws: WebSocket; protocol: string } | undefined> {
  const offered = offeredSubprotocols(req);
  const protocol = offered.length === 0 ? (supported.includes('') ? '' : undefined) : offered.find((p) => supported.includes(p));
  if (protocol === undefined) {
    rejectSocket(socket, 403, 'Forbidden', `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${supported.filter(Boolean).join(' ')}]`);
    return Promise.resolve(undefined);
  }
  // ws accepts only RFC 6455 tokens as subprotocols, and Kubernetes' "SPDY/3.1+portforward.k8s.io"
  // is not one: the choice is made here, and ws sees a plain header and answers with the choice.
  if (protocol) req.headers['sec-websocket-protocol'] = 'selected';
  else delete req.headers['sec-websocket-protocol'];
  return new Promise((resolve) => {
    const server = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: 64 * 1024 * 1024,
      handleProtocols: () => protocol || false,
    });
    server.handleUpgrade(req, socket, head, (ws) => {
      server.close();
      resolve({ ws, protocol });
    });
  });
}

export type ChannelKind = 'read' | 'write' | 'readwrite' | 'ignore';

/**
 * Channels multiplexed over one WebSocket (wsstream.Conn): each message starts with the channel
 * number (a digit character and base64 payload in the base64 protocols).
 */
export class ChannelConn {
  readonly readers: (PassThrough | null)[];
  readonly closed: Promise<void>;
  private readonly base64: boolean;

  constructor(
    readonly ws: WebSocket,
    readonly protocol: string,
    kinds: ChannelKind[],
  ) {
    this.base64 = protocol.includes('base64');
    const supportsClose = protocol === WS_V5_CHANNEL;
    this.readers = kinds.map((k) => (k === 'read' || k === 'readwrite' ? new PassThrough() : null));
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      if (buf.length === 0) return;
      if (supportsClose && buf[0] === STREAM_CLOSE) {
        if (buf.length === 2) this.readers[buf[1]!]?.end();
        return;
      }
      let channel = buf[0]!;
      let payload = buf.subarray(1);
      if (this.base64 || !isBinary) {
        channel -= 0x30;
        payload = Buffer.from(payload.toString('latin1'), 'base64');
      }
      const reader = this.readers[channel];
      if (!reader || reader.writableEnded) return;
      if (!reader.write(payload)) {
        ws.pause();
        reader.once('drain', () => ws.resume());
      }
    });
    ws.once('close', () => {
      for (const r of this.readers) if (r && !r.writableEnded) r.end();
    });
    ws.on('error', () => undefined);
  }

  /** Sends one message on a channel; the callback runs once it is on the socket. */
  send(channel: number, data: Buffer, callback?: (err?: Error) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) {
      callback?.(new Error('websocket closed'));
      return;
    }
    if (this.base64) {
      this.ws.send(String.fromCharCode(0x30 + channel) + data.toString('base64'), { binary: false }, callback);
    } else {
      const frame = Buffer.allocUnsafe(data.length + 1);
      frame[0] = channel;
      data.copy(frame, 1);
      this.ws.send(frame, { binary: true }, callback);
    }
  }

  /** A Writable that sends on a channel, with the socket's back-pressure. end() sends nothing. */
  writer(channel: number): Writable {
    return new Writable({
      // A closed socket drops the data: the session notices the close and ends on its own.
      write: (chunk: Buffer, _enc, cb) => this.send(channel, chunk, () => cb()),
    });
  }

  /** Closes the WebSocket normally, after what was sent has been flushed. */
  close(code = 1000): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(code);
    const timer = setTimeout(() => this.ws.terminate(), 2000);
    timer.unref();
    this.ws.once('close', () => clearTimeout(timer));
  }
}
