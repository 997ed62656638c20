// Test-side client of cricket's streaming server, written from Kubernetes' client-go protocols
// (remotecommand v1-v5, portforward.k8s.io) over SPDY/3.1 (spdy-transport) and WebSocket (ws).
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { WebSocket, createWebSocketStream } from 'ws';
import type transportTypes from 'spdy-transport';

const require = createRequire(import.meta.url);
const transport = require('spdy-transport') as typeof transportTypes;

export interface SessionOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  tty?: boolean;
}

export interface SessionResult {
  stdout: string;
  stderr: string;
  /** What the server wrote on the error stream/channel (v4+: a JSON metav1.Status). */
  error: string;
  /** From a v4+ status: 0 on Success, the ExitCode cause otherwise; undefined if none. */
  exitCode?: number;
  status?: { status: string; message?: string; reason?: string; details?: { causes?: { reason?: string; message?: string }[] } };
}

export interface ClientSession {
  readonly protocol: string;
  write(data: string | Buffer): void;
  closeStdin(): void;
  resize(width: number, height: number): void;
  /** Output so far. */
  readonly stdout: string;
  /** Resolves when stdout (so far) matches. */
  waitForStdout(match: RegExp | string, timeoutMs?: number): Promise<string>;
  readonly done: Promise<SessionResult>;
  close(): void;
}

export class UpgradeError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
  ) {
    super(`upgrade refused: ${statusCode} ${body.trim()}`);
  }
}

function parseStatus(error: string): Pick<SessionResult, 'exitCode' | 'status'> {
  if (!error.trim().startsWith('{')) return {};
  const status = JSON.parse(error) as NonNullable<SessionResult['status']>;
  if (status.status === 'Success') return { status, exitCode: 0 };
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return { status, exitCode: cause ? Number(cause.message) : undefined };
}

function waiter(get: () => string, listeners: Set<() => void>) {
  return (match: RegExp | string, timeoutMs = 10_000) =>
    new Promise<string>((resolve, reject) => {
      const test = () => (typeof match === 'string' ? get().includes(match) : match.test(get()));
      if (test()) return resolve(get());
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for ${String(match)} in output ${JSON.stringify(get())}`));
      }, timeoutMs);
      const check = () => {
        if (!test()) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve(get());
      };
      listeners.add(check);
    });
}

/** Sends the HTTP upgrade request; resolves with the raw socket once the server answers 101. */
export function upgrade(url: string, headers: Record<string, string | string[]>, method = 'POST'): Promise<{ socket: Duplex; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { Connection: 'Upgrade', ...headers }, agent: false });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('upgrade', (res, socket, head) => {
      if (head.length) socket.unshift(head);
      resolve({ socket, res });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(new UpgradeError(res.statusCode ?? 0, body)));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A client SPDY session (spdy-transport speaking version 3, as Go's spdystream does). */
export function spdyClient(socket: Duplex): transportTypes.Connection {
  const conn = transport.connection.create(socket, { protocol: 'spdy', isServer: false });
  conn.start(3);
  conn.on('error', () => undefined);
  return conn;
}

/** Opens one stream with the given headers and waits for the server's reply. */
export function openStream(conn: transportTypes.Connection, headers: Record<string, string>): Promise<transportTypes.Stream> {
  return new Promise((resolve, reject) => {
    const stream = conn.request({ method: 'POST', path: '/', headers }, (err) => {
      if (err) reject(err);
    });
    stream.on('error', () => undefined);
    stream.once('response', () => resolve(stream));
    stream.once('close', () => reject(new Error(`stream ${JSON.stringify(headers)} closed before the reply`)));
  });
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString()));
    stream.on('end', () => resolve(text));
    stream.on('close', () => resolve(text));
    stream.on('error', () => resolve(text));
  });
}

/** exec/attach over SPDY with the given protocols (client-go's remotecommand). */
export async function spdySession(url: string, opts: SessionOptions, protocols: string[] = ['v4.channel.k8s.io']): Promise<ClientSession> {
  const { socket, res } = await upgrade(url, { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocols });
  const protocol = String(res.headers['x-stream-protocol-version'] ?? '');
  const conn = spdyClient(socket);
  const error = await openStream(conn, { streamtype: 'error' });
  error.end();
  const stdin = opts.stdin ? await openStream(conn, { streamtype: 'stdin' }) : undefined;
  const stdout = opts.stdout ? await openStream(conn, { streamtype: 'stdout' }) : undefined;
  if (stdout) stdout.end();
  const stderr = opts.stderr ? await openStream(conn, { streamtype: 'stderr' }) : undefined;
  if (stderr) stderr.end();
  const resize = opts.tty && !['channel.k8s.io', 'v2.channel.k8s.io'].includes(protocol) ? await openStream(conn, { streamtype: 'resize' }) : undefined;
  let out = '';
  const listeners = new Set<() => void>();
  const outDone = stdout ? readAll(stdout) : Promise.resolve('');
  stdout?.on('data', (c: Buffer) => {
    out += c.toString();
    for (const l of [...listeners]) l();
  });
  const done = Promise.all([readAll(error), outDone, stderr ? readAll(stderr) : Promise.resolve('')]).then(([err, , errOut]) => {
    conn.socket.destroy();
    return { stdout: out, stderr: errOut, error: err, ...parseStatus(err) };
  });
  return {
    protocol,
    write: (data) => stdin?.write(data),
    closeStdin: () => stdin?.end(),
    resize: (width, height) => resize?.write(JSON.stringify({ Width: width, Height: height })),
    get stdout() {
      return out;
    },
    waitForStdout: waiter(() => out, listeners),
    done,
    close: () => conn.socket.destroy(),
  };
}

/** exec/attach over WebSocket (channel.k8s.io family; v5 closes stdin with [255, 0]). */
export async function webSocketSession(url: string, protocols: string[] = ['v5.channel.k8s.io', 'v4.channel.k8s.io']): Promise<ClientSession> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols, { perMessageDeflate: false });
  // Listen before 'open' resolves: the first messages may come with the handshake's answer.
  const outputs = ['', '', '', '', ''];
  const listeners = new Set<() => void>();
  ws.on('message', (data: Buffer) => {
    let channel = data[0]!;
    let payload = data.subarray(1);
    if (ws.protocol.includes('base64')) {
      channel -= 0x30;
      payload = Buffer.from(payload.toString(), 'base64');
    }
    outputs[channel] += payload.toString();
    if (channel === 1) for (const l of [...listeners]) l();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(new UpgradeError(res.statusCode ?? 0, body)));
    });
    ws.once('error', reject);
  });
  const base64 = ws.protocol.includes('base64');
  const send = (channel: number, data: Buffer) =>
    ws.send(base64 ? String.fromCharCode(0x30 + channel) + data.toString('base64') : Buffer.concat([Buffer.from([channel]), data]));
  const done = new Promise<SessionResult>((resolve) =>
    ws.once('close', () => resolve({ stdout: outputs[1]!, stderr: outputs[2]!, error: outputs[3]!, ...parseStatus(outputs[3]!) })),
  );
  return {
    protocol: ws.protocol,
    write: (data) => send(0, Buffer.from(data)),
    closeStdin: () => ws.send(Buffer.from([255, 0])),
    resize: (width, height) => send(4, Buffer.from(JSON.stringify({ Width: width, Height: height }))),
    get stdout() {
      return outputs[1]!;
    },
    waitForStdout: waiter(() => outputs[1]!, listeners),
    done,
    close: () => ws.terminate(),
  };
}

export interface ForwardResult {
  data: string;
  error: string;
}

/**
 * One forwarded connection over a SPDY session: sends `request` (and, with halfClose, ends the
 * client's side), reads until the pod closes.
 */
export async function forwardOverSpdy(conn: transportTypes.Connection, port: number, requestId: number, request: string, halfClose = false): Promise<ForwardResult> {
  const headers = { port: String(port), requestid: String(requestId) };
  const error = await openStream(conn, { ...headers, streamtype: 'error' });
  error.end();
  const data = await openStream(conn, { ...headers, streamtype: 'data' });
  if (halfClose) data.end(request);
  else data.write(request);
  const [errText, dataText] = await Promise.all([readAll(error), readAll(data)]);
  return { data: dataText, error: errText };
}

/** kubectl port-forward's SPDY session (portforward.k8s.io). */
export async function spdyPortForward(url: string): Promise<transportTypes.Connection> {
  const { socket } = await upgrade(url, { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' });
  return spdyClient(socket);
}

/**
 * A WebSocket client for subprotocols that are not RFC 6455 tokens ("SPDY/3.1+..." as gorilla
 * sends them, which ws refuses to send): the handshake by hand, then ws's framing on the socket.
 */
export async function rawWebSocket(url: string, protocol: string): Promise<WebSocket> {
  const key = randomBytes(16).toString('base64');
  const { socket, res } = await upgrade(url, {
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Protocol': protocol,
  }, 'GET');
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  if (res.headers['sec-websocket-accept'] !== accept) throw new Error('bad Sec-WebSocket-Accept');
  if (res.headers['sec-websocket-protocol'] !== protocol) throw new Error(`server chose ${String(res.headers['sec-websocket-protocol'])}`);
  const ws = new (WebSocket as unknown as new (a: null, p: undefined, o: object) => WebSocket)(null, undefined, { autoPong: true });
  // A client's frames are masked and the server's are not: ws's client mode on our socket.
  (ws as unknown as { _isServer: boolean })._isServer = false;
  (ws as unknown as { setSocket(s: Duplex, head: Buffer, o: object): void }).setSocket(socket, Buffer.alloc(0), { maxPayload: 64 * 1024 * 1024, skipUTF8Validation: false });
  return ws;
}

/** Port forwarding with SPDY tunnelled over a WebSocket (Kubernetes 1.30+). */
export async function tunnelledPortForward(url: string): Promise<transportTypes.Connection> {
  const ws = await rawWebSocket(url, 'SPDY/3.1+portforward.k8s.io');
  const tunnel = createWebSocketStream(ws);
  tunnel.on('error', () => undefined);
  return spdyClient(tunnel);
}

/** Port forwarding over a plain WebSocket (v4.channel.k8s.io): data on channel 0, errors on 1. */
export async function webSocketPortForward(url: string, request: string): Promise<ForwardResult & { portPrefixes: number[] }> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), ['v4.channel.k8s.io'], { perMessageDeflate: false });
  const chunks: Buffer[][] = [[], []];
  ws.on('message', (data: Buffer) => chunks[data[0]!]?.push(data.subarray(1)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(request)]));
  await new Promise((resolve) => ws.once('close', resolve));
  const data = Buffer.concat(chunks[0]!);
  const error = Buffer.concat(chunks[1]!);
  return {
    portPrefixes: [data.readUInt16LE(0), error.readUInt16LE(0)],
    data: data.subarray(2).toString(),
    error: error.subarray(2).toString(),
  };
}

/**
 * Resizes travel on their own stream, apart from stdin, so a command typed right after one may
 * run before it lands (as with kubectl): ask again until the answer shows, a bounded number of
 * times.
 */
export async function askUntil(session: ClientSession, command: string, answer: RegExp, attempts = 20, intervalMs = 250): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const before = session.stdout.length;
    session.write(command);
    try {
      await session.waitForStdout(answer, intervalMs);
      return;
    } catch {
      if (session.stdout.slice(before).match(answer)) return;
    }
  }
  throw new Error(`no ${answer} after ${attempts} tries of ${JSON.stringify(command)}: ${JSON.stringify(session.stdout.slice(-300))}`);
}

/**
 * A client that stops reading (a stuck kubectl): nothing is taken off its socket any more, so
 * what the server sends piles up in the kernel's buffers and then in the server.
 */
export function stallSocket(socket: Duplex): void {
  socket.unpipe();
  socket.removeAllListeners('data');
  socket.pause();
}

/** exec over SPDY (v4) that opens its error and stdout streams, then never reads. */
export async function stalledSpdyExec(url: string): Promise<Duplex> {
  const { socket } = await upgrade(url, { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' });
  const conn = spdyClient(socket);
  (await openStream(conn, { streamtype: 'error' })).end();
  (await openStream(conn, { streamtype: 'stdout' })).end();
  stallSocket(socket);
  return socket;
}

/** exec over WebSocket (v5) that never reads after the handshake. */
export async function stalledWebSocketExec(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), ['v5.channel.k8s.io'], { perMessageDeflate: false });
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new UpgradeError(res.statusCode ?? 0, '')));
    ws.once('error', reject);
  });
  ws.pause();
  return ws;
}

/** One SPDY port-forward connection to `port` whose client never reads. */
export async function stalledSpdyPortForward(url: string, port: number): Promise<Duplex> {
  const conn = await spdyPortForward(url);
  const headers = { port: String(port), requestid: '0' };
  (await openStream(conn, { ...headers, streamtype: 'error' })).end();
  await openStream(conn, { ...headers, streamtype: 'data' });
  stallSocket(conn.socket);
  return conn.socket;
}
