// The CRI server's own HTTP/2 (src/server/http2/) behind the unix listener: real clients (grpc-js,
// Node's HTTP/2 client) and raw frames, including hostile ones.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { MAX_BLOCK_FRAMES, MAX_HEADER_BLOCK } from '../../src/server/http2/header-block.js';
import { listenUnix, type UnixListener } from '../../src/server/listen-unix.js';
import { GrpcServer } from '../../src/server/grpc-server.js';
import { frame, PREFACE } from '../harness/http2-frames.js';

// hpack.js's stream decoder, used only here as an independent check of the server's header blocks.
interface Decompressor {
  write(chunk: Buffer): void;
  execute(): void;
  read(): { name: string; value: string } | null;
}
const hpackStreams = createRequire(import.meta.url)('hpack.js') as {
  decompressor: { create(opts: { table: { maxSize: number } }): Decompressor };
};


interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

function parseFrames(bytes: Buffer): Frame[] {
  const frames: Frame[] = [];
  for (let i = 0; i < bytes.length; ) {
    const len = bytes.readUIntBE(i, 3);
    frames.push({
      type: bytes[i + 3]!,
      flags: bytes[i + 4]!,
      streamId: bytes.readUInt32BE(i + 5),
      payload: bytes.subarray(i + 9, i + 9 + len),
    });
    i += 9 + len;
  }
  return frames;
}

/** Raw (no Huffman) HPACK string. */
function str(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  assert.ok(b.length < 127);
  return Buffer.concat([Buffer.from([b.length]), b]);
}

// ---- the service -------------------------------------------------------------------------

const identity = (b: Buffer): Buffer => b;
const method = (name: string) => ({
  path: `/test.Echo/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const echoDefinition: grpc.ServiceDefinition = { Say: method('Say'), Hang: method('Hang'), Refuse: method('Refuse') };

/** Hang calls answer only when released: handlers that outlive their streams. */
let hanging: Array<() => void> = [];
function hang(_call: unknown, callback: grpc.sendUnaryData<Buffer>): void {
  hanging.push(() => callback(null, Buffer.from('{}')));
}
function releaseHangs(): void {
  for (const release of hanging.splice(0)) release();
}
/** Fails with a status message long enough to need CONTINUATION frames once percent-encoded. */
function refuse(_call: unknown, callback: grpc.sendUnaryData<Buffer>): void {
  callback({ code: grpc.status.FAILED_PRECONDITION, details: 'é\n'.repeat(3000) });
}

interface Reply {
  echo: string;
  authority: string;
  big: number;
  seq: string | null;
}

function say(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void {
  const big = call.metadata.get('x-big')[0];
  const seq = call.metadata.get('x-seq')[0];
  const reply: Reply = {
    echo: call.request.toString(),
    authority: call.getHost(),
    big: typeof big === 'string' ? big.length : 0,
    seq: typeof seq === 'string' ? seq : null,
  };
  callback(null, Buffer.from(JSON.stringify(reply)));
}

function unary(client: grpc.Client, body: string, metadata = new grpc.Metadata()): Promise<Reply> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest<Buffer, Buffer>(
      '/test.Echo/Say',
      identity,
      identity,
      Buffer.from(body),
      metadata,
      { deadline: Date.now() + 10_000 },
      (err, res) => (err ? reject(err) : resolve(JSON.parse(res!.toString()) as Reply)),
    );
  });
}

// ---- a raw HTTP/2 gRPC caller ------------------------------------------------------------

interface RawResult {
  status?: number;
  grpcStatus?: string;
  reply?: Reply;
  rstCode: number;
  error?: Error;
}

function rawSession(sock: string): http2.ClientHttp2Session {
  const session = http2.connect('http://localhost', { createConnection: () => net.connect(sock) });
  session.on('error', () => {});
  return session;
}

function rawCall(session: http2.ClientHttp2Session, authority: string, body: string, extra: http2.OutgoingHttpHeaders = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const req = session.request({
      ':method': 'POST',
      ':scheme': 'http',
      ':path': '/test.Echo/Say',
      ':authority': authority,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...extra,
    });
    const result: RawResult = { rstCode: 0 };
    const data: Buffer[] = [];
    req.on('response', (headers) => {
      result.status = headers[':status'];
      if (headers['grpc-status'] !== undefined) result.grpcStatus = String(headers['grpc-status']);
    });
    req.on('trailers', (trailers) => {
      result.grpcStatus = String(trailers['grpc-status']);
    });
    req.on('data', (chunk: Buffer) => data.push(chunk));
    req.on('error', (err: Error) => {
      result.error = err;
    });
    req.on('close', () => {
      result.rstCode = req.rstCode ?? 0;
      const all = Buffer.concat(data);
      if (all.length >= 5) result.reply = JSON.parse(all.subarray(5, 5 + all.readUInt32BE(1)).toString()) as Reply;
      resolve(result);
    });
    const msg = Buffer.from(body);
    const framed = Buffer.alloc(5 + msg.length);
    framed.writeUInt32BE(msg.length, 1);
    msg.copy(framed, 5);
    req.end(framed);
  });
}

function closed(socket: net.Socket): Promise<void> {
  // Unread bytes (the server's SETTINGS) would hold back 'end' and therefore 'close'.
  socket.resume();
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

/** Leaves a socket file nobody listens on (closing a listener would unlink it, a hard link survives). */
async function makeStaleSocket(p: string): Promise<void> {
  const stale = net.createServer();
  await new Promise<void>((resolve) => stale.listen(p, resolve));
  await fs.link(p, p + '.keep');
  await new Promise<void>((resolve) => stale.close(() => resolve()));
  await fs.rename(p + '.keep', p);
}

/** Raw HTTP/2 conversation: writes `bytes`, gathers the server's frames until it closes or `ms` pass. */
async function converse(p: string, bytes: Buffer | Buffer[], ms = 3000): Promise<{ frames: Frame[]; closed: boolean }> {
  const socket = net.connect(p);
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  for (const b of Array.isArray(bytes) ? bytes : [bytes]) socket.write(b);
  const wasClosed = await Promise.race([closed(socket).then(() => true), new Promise<boolean>((r) => setTimeout(r, ms, false))]);
  socket.destroy();
  return { frames: parseFrames(Buffer.concat(chunks)), closed: wasClosed };
}

const SETTINGS_EMPTY = frame(4, 0, 0, Buffer.alloc(0));
const CALL_PATH = '/test.Echo/Say';

/** A complete request header block (no Huffman, no indexing): POST `path` with the gRPC content type. */
function requestBlock(p = CALL_PATH, extra: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from([0x83, 0x86, 0x04]), str(p), Buffer.from([0x0f, 0x10]), str('application/grpc'), extra]);
}

function grpcMessage(body: string): Buffer {
  const msg = Buffer.from(body);
  const framed = Buffer.alloc(5 + msg.length);
  framed.writeUInt32BE(msg.length, 1);
  msg.copy(framed, 5);
  return framed;
}

function goawayCode(frames: Frame[]): number | undefined {
  const goaway = frames.find((f) => f.type === 7);
  return goaway ? goaway.payload.readUInt32BE(4) : undefined;
}

function resets(frames: Frame[]): Map<number, number> {
  return new Map(frames.filter((f) => f.type === 3).map((f) => [f.streamId, f.payload.readUInt32BE(0)]));
}

/** Header blocks the server sent, decoded by an independent HPACK decoder. */
function decodeBlocks(frames: Frame[]): Array<{ streamId: number; fields: Array<[string, string]> }> {
  const dec = hpackStreams.decompressor.create({ table: { maxSize: 4096 } });
  const blocks: Array<{ streamId: number; fields: Array<[string, string]> }> = [];
  let current: Buffer[] = [];
  for (const f of frames) {
    if (f.type !== 1 && f.type !== 9) continue;
    current.push(f.payload);
    if (f.flags & 0x4) {
      dec.write(Buffer.concat(current));
      dec.execute();
      const fields: Array<[string, string]> = [];
      for (let h = dec.read(); h; h = dec.read()) fields.push([h.name, h.value]);
      blocks.push({ streamId: f.streamId, fields });
      current = [];
    }
  }
  return blocks;
}

/** HPACK integer with an N-bit prefix (RFC 7541 5.1), first byte or-ed with `high`. */
function hpackInt(value: number, prefixBits: number, high: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([high | value]);
  const out = [high | max];
  for (value -= max; value >= 128; value = Math.floor(value / 128)) out.push((value % 128) | 0x80);
  out.push(value);
  return Buffer.from(out);
}

/** A valid request block of exactly `size` octets: the request fields, then one literal `x-big`. */
function blockOfSize(size: number): Buffer {
  const base = requestBlock();
  const name = str('x-big');
  let valueLen = size - base.length - 1 - name.length - 1;
  while (base.length + 1 + name.length + hpackInt(valueLen, 7, 0).length + valueLen > size) valueLen--;
  const block = Buffer.concat([base, Buffer.from([0x00]), name, hpackInt(valueLen, 7, 0), Buffer.alloc(valueLen, 'v')]);
  assert.equal(block.length, size);
  return block;
}

/** HEADERS + CONTINUATION frames carrying `block` in `frames` pieces of about equal size, ending the stream. */
function splitBlock(block: Buffer, frames: number): Buffer {
  const step = Math.ceil(block.length / frames);
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < block.length; at += step, i++) {
    const last = at + step >= block.length;
    out.push(frame(i === 0 ? 1 : 9, (last ? 0x4 : 0) | (i === 0 ? 0x1 : 0), 1, block.subarray(at, at + step)));
  }
  assert.equal(out.length, frames);
  return Buffer.concat(out);
}

describe('the CRI server on its own HTTP/2', () => {
  let dir: string;
  let sock: string;
  let server: GrpcServer;
  let listener: UnixListener;
  let client: grpc.Client;
  const insecure = grpc.credentials.createInsecure();

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cricket-http2-'));
    sock = path.join(dir, 'cricket.sock');
    server = new GrpcServer({ maxConcurrentStreams: 8 });
    server.addService(echoDefinition, { Say: say, Hang: hang, Refuse: refuse });
    // A socket file left by a dead process must not stop the listener.
    await makeStaleSocket(sock);
    assert.ok((await fs.lstat(sock)).isSocket());
    listener = await listenUnix(server, sock, {});
    client = new grpc.Client('unix:' + sock, insecure);
  });

  after(async () => {
    releaseHangs();
    client.close();
    await listener.close();
    server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('socket gets mode 0660', async () => {
    const stat = await fs.stat(sock);
    assert.ok(stat.isSocket());
    assert.equal(stat.mode & 0o777, 0o660);
  });

  test('a grpc-js client is served, and its :authority reaches the handler', async () => {
    const reply = await unary(client, 'hello');
    assert.equal(reply.echo, 'hello');
    assert.equal(reply.authority, 'localhost');
  });

  test('the socket path as :authority (kubelet and crictl before 1.31), an empty one, and a conflicting host are served', async () => {
    const session = rawSession(sock);
    const bySocket = await rawCall(session, sock, 'socket path');
    assert.equal(bySocket.status, 200);
    assert.equal(bySocket.grpcStatus, '0');
    assert.equal(bySocket.reply?.echo, 'socket path');
    assert.equal(bySocket.reply?.authority, sock);
    const empty = await rawCall(session, '', 'empty');
    assert.equal(empty.grpcStatus, '0');
    const withHost = await rawCall(session, sock, 'host', { host: 'elsewhere' });
    assert.equal(withHost.grpcStatus, '0');
    assert.equal(withHost.reply?.echo, 'host');
    session.close();
  });

  test('40 KB metadata arrives in CONTINUATION frames; many requests share one HPACK context; big bodies both ways', async () => {
    const big = randomBytes(30_000).toString('base64'); // 40000 chars
    const md = new grpc.Metadata();
    md.set('x-big', big);
    const reply = await unary(client, 'big', md);
    assert.equal(reply.big, big.length);

    const session = rawSession(sock);
    const raw = await rawCall(session, sock, 'raw big', { 'x-big': big });
    assert.equal(raw.grpcStatus, '0');
    assert.equal(raw.reply?.big, big.length);

    // Unique values force inserts and evictions in the client's table, which ours mirrors.
    for (let i = 0; i < 300; i++) {
      const m = new grpc.Metadata();
      m.set('x-seq', String(i));
      m.set(`x-pad-${i % 17}`, 'p'.repeat(100 + (i % 13) * 40));
      const r = await unary(client, `n${i}`, m);
      assert.equal(r.seq, String(i));
      assert.equal(r.echo, `n${i}`);
      const rr = await rawCall(session, sock, `r${i}`, { 'x-seq': String(i), [`x-pad-${i % 11}`]: 'q'.repeat(i * 7) });
      assert.equal(rr.grpcStatus, '0');
      assert.equal(rr.reply?.seq, String(i));
    }

    // Concurrent streams interleave HEADERS and DATA frames; the 8-call limit holds them back, not out.
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => unary(client, `c${i}`)));
    results.forEach((r, i) => assert.equal(r.echo, `c${i}`));
    // A 3 MB request is read past the 1 MiB stream window; its 3 MB echo goes out past the client's.
    const body = 'z'.repeat(3_000_000);
    const large = await unary(client, body);
    assert.equal(large.echo.length, body.length);
    session.close();
  });

  test('a status message of 24 KB once encoded goes out in HEADERS and CONTINUATION frames', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      client.makeUnaryRequest('/test.Echo/Refuse', identity, identity, Buffer.from('x'), (e) => resolve(e!)),
    );
    assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
    // The message is cut at 8192 bytes before encoding; what arrives is its beginning.
    assert.ok(err.details.startsWith('é\n'.repeat(100)), err.details.slice(0, 40));
    const { frames } = await converse(sock, [PREFACE, SETTINGS_EMPTY, frame(1, 0x4, 1, requestBlock('/test.Echo/Refuse')), frame(0, 0x1, 1, grpcMessage('x'))], 500);
    const onStream = frames.filter((f) => f.streamId === 1);
    assert.deepEqual(onStream.map((f) => f.type), [1, 9]);
    const [block] = decodeBlocks(onStream);
    const fields = new Map(block!.fields);
    assert.equal(fields.get(':status'), '200');
    assert.equal(fields.get('grpc-status'), String(grpc.status.FAILED_PRECONDITION));
    assert.ok(fields.get('grpc-message')!.startsWith('%C3%A9%0A'));
  });

  test('garbage closes only its own connection, with a GOAWAY naming the error', async () => {
    const session = rawSession(sock);
    assert.equal((await rawCall(session, sock, 'before')).grpcStatus, '0');
    const opening = Buffer.concat([PREFACE, SETTINGS_EMPTY]);
    const cases: Array<[string, Buffer, number | undefined]> = [
      ['HTTP/1.1', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 0x1],
      ['CONTINUATION without HEADERS', frame(9, 4, 1, Buffer.from([0x83])), 0x1],
      ['HEADERS not followed by CONTINUATION', Buffer.concat([frame(1, 0, 1, Buffer.from([0x83])), frame(0, 1, 1, Buffer.alloc(3))]), 0x1],
      ['padding longer than the frame', frame(1, 0x4 | 0x8, 1, Buffer.from([9, 0x83])), 0x1],
      ['HPACK index 0', frame(1, 0x5, 1, Buffer.from([0x80])), 0x9],
      ['HPACK index out of range', frame(1, 0x5, 1, Buffer.from([0xff, 0x00])), 0x9],
      ['oversized table size update', frame(1, 0x5, 1, Buffer.from([0x3f, 0xe2, 0x1f])), 0x9],
      ['table size update after a field', frame(1, 0x5, 1, Buffer.from([0x83, 0x20])), 0x9],
      ['truncated string', frame(1, 0x5, 1, Buffer.from([0x04, 0x05, 0x41])), 0x9],
      ['frame over 16384 bytes', frame(0, 0, 1, Buffer.alloc(16385)), 0x6],
      ['even stream id', frame(1, 0x5, 2, requestBlock()), 0x1],
      ['stream id going backwards', Buffer.concat([frame(1, 0x5, 5, requestBlock()), frame(1, 0x5, 3, requestBlock())]), 0x5],
      ['PUSH_PROMISE', frame(5, 0x4, 1, Buffer.alloc(4)), 0x1],
      ['WINDOW_UPDATE of 0 on the connection', frame(8, 0, 0, Buffer.alloc(4)), 0x1],
      ['connection window over 2^31-1', frame(8, 0, 0, Buffer.from([0x7f, 0xff, 0xff, 0xff])), 0x3],
      ['SETTINGS of 5 bytes', frame(4, 0, 0, Buffer.alloc(5)), 0x6],
      ['MAX_FRAME_SIZE below 16384', frame(4, 0, 0, Buffer.from([0, 5, 0, 0, 0x10, 0])), 0x1],
      ['PING of 7 bytes', frame(6, 0, 0, Buffer.alloc(7)), 0x6],
      ['DATA on stream 0', frame(0, 0, 0, Buffer.alloc(4)), 0x1],
      ['DATA on an idle stream', frame(0, 0, 7, Buffer.alloc(4)), 0x1],
    ];
    for (const [name, bytes, code] of cases) {
      const input = name === 'HTTP/1.1' ? bytes : Buffer.concat([opening, bytes]);
      const { frames, closed: wasClosed } = await converse(sock, input);
      assert.ok(wasClosed, `${name}: connection closed`);
      assert.equal(goawayCode(frames), code, `${name}: GOAWAY code`);
    }
    assert.equal((await rawCall(session, sock, 'after')).grpcStatus, '0');
    assert.equal((await unary(client, 'still here')).echo, 'still here');
    session.close();
  });

  test('malformed requests are refused on their stream only; HTTP refusals for other methods and content types', async () => {
    const upper = Buffer.concat([requestBlock(), Buffer.from([0x00]), str('X-Upper'), str('v')]);
    const noPath = Buffer.concat([Buffer.from([0x83, 0x86]), Buffer.from([0x0f, 0x10]), str('application/grpc')]);
    const get = Buffer.concat([Buffer.from([0x82, 0x86, 0x04]), str(CALL_PATH)]);
    const json = Buffer.concat([Buffer.from([0x83, 0x86, 0x04]), str(CALL_PATH), Buffer.from([0x0f, 0x10]), str('application/json')]);
    const newline = Buffer.concat([requestBlock(), Buffer.from([0x00]), str('x-a'), str('a\r\nb')]);
    const hop = Buffer.concat([requestBlock(), Buffer.from([0x00]), str('connection'), str('close')]);
    const te = Buffer.concat([requestBlock(), Buffer.from([0x00]), str('te'), str('gzip')]);
    const late = Buffer.concat([Buffer.from([0x83, 0x86]), Buffer.from([0x0f, 0x10]), str('application/grpc'), Buffer.from([0x04]), str(CALL_PATH)]);
    const { frames, closed: wasClosed } = await converse(sock, [
      PREFACE, SETTINGS_EMPTY,
      frame(1, 0x5, 1, upper), frame(1, 0x5, 3, noPath), frame(1, 0x5, 5, get), frame(1, 0x5, 7, json),
      frame(1, 0x4, 9, requestBlock()), frame(0, 0x1, 9, grpcMessage('fine')),
      frame(1, 0x5, 11, newline), frame(1, 0x5, 13, hop), frame(1, 0x5, 15, te), frame(1, 0x5, 17, late),
    ], 500);
    assert.equal(wasClosed, false);
    const rst = resets(frames);
    for (const id of [1, 3, 11, 13, 15, 17]) assert.equal(rst.get(id), 0x1, `stream ${id} refused as malformed`);
    // The first block of each stream: its response head.
    const blocks = new Map<number, Map<string, string>>();
    for (const b of decodeBlocks(frames)) if (!blocks.has(b.streamId)) blocks.set(b.streamId, new Map(b.fields));
    assert.equal(blocks.get(5)?.get(':status'), '405');
    assert.equal(blocks.get(7)?.get(':status'), '415');
    assert.equal(blocks.get(9)?.get(':status'), '200');
    assert.equal(blocks.get(9)?.get('content-type'), 'application/grpc');
    assert.ok(frames.some((f) => f.type === 0 && f.streamId === 9 && f.payload.includes(Buffer.from('"echo":"fine"'))));
  });

  test('PING and SETTINGS are acknowledged; a client GOAWAY closes the idle connection', async () => {
    const { frames, closed: wasClosed } = await converse(sock, [PREFACE, SETTINGS_EMPTY, frame(6, 0, 0, Buffer.from('8 octets')), frame(7, 0, 0, Buffer.alloc(8))]);
    const server = frames.find((f) => f.type === 4 && !(f.flags & 1));
    assert.ok(server, 'the server sends its SETTINGS');
    assert.ok(frames.some((f) => f.type === 4 && f.flags & 1), 'SETTINGS ACK');
    const pong = frames.find((f) => f.type === 6);
    assert.equal(pong?.flags, 1);
    assert.equal(pong?.payload.toString(), '8 octets');
    assert.ok(wasClosed);
  });

  test('an answer larger than the client window waits for WINDOW_UPDATE', async () => {
    const body = 'w'.repeat(1000);
    const windowOf100 = frame(4, 0, 0, Buffer.from([0, 4, 0, 0, 0, 100]));
    const request = [PREFACE, windowOf100, frame(1, 0x4, 1, requestBlock()), frame(0, 0x1, 1, grpcMessage(body))];
    const first = await converse(sock, request, 400);
    const sent = (fs: Frame[]): number => fs.filter((f) => f.type === 0 && f.streamId === 1).reduce((n, f) => n + f.payload.length, 0);
    assert.equal(sent(first.frames), 100);
    assert.ok(!first.frames.some((f) => f.type === 1 && f.streamId === 1 && f.flags & 1), 'no trailers before the body');
    const second = await converse(sock, [...request, frame(8, 0, 1, Buffer.from([0, 0, 0x27, 0x10]))], 400);
    assert.ok(sent(second.frames) > 1000);
    assert.ok(second.frames.some((f) => f.type === 1 && f.streamId === 1 && f.flags & 1), 'trailers after the body');
  });

  test('an answer the windows take whole goes out in frames of at most the client\'s frame size, in order, then its trailers', async () => {
    const body = Array.from({ length: 50_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const streamWindowOf1MiB = frame(4, 0, 0, Buffer.from([0, 4, 0, 0x10, 0, 0]));
    const connectionWindowPlus1MiB = frame(8, 0, 0, Buffer.from([0, 0x10, 0, 0]));
    const message = grpcMessage(body);
    const requestData = [];
    for (let at = 0; at < message.length; at += 16384) requestData.push(frame(0, at + 16384 >= message.length ? 0x1 : 0, 1, message.subarray(at, at + 16384)));
    const { frames } = await converse(sock, [PREFACE, streamWindowOf1MiB, connectionWindowPlus1MiB, frame(1, 0x4, 1, requestBlock()), ...requestData], 400);
    const ofCall = frames.filter((f) => f.streamId === 1);
    const data = ofCall.filter((f) => f.type === 0);
    assert.ok(data.length >= 4, `${data.length} DATA frames`);
    for (const f of data) assert.ok(f.payload.length <= 16384, `a DATA frame of ${f.payload.length} bytes`);
    const wire = Buffer.concat(data.map((f) => f.payload));
    assert.equal(wire.readUInt32BE(1), wire.length - 5, 'one message, whole');
    assert.ok(wire.includes(Buffer.from(`"echo":"${body}"`)));
    const trailers = ofCall.findIndex((f) => f.type === 1 && f.flags & 1);
    assert.ok(trailers > ofCall.indexOf(data[data.length - 1]!), 'trailers after the body');
  });

  test('calls reset at once keep their slot until their handler is done (rapid reset)', async () => {
    const socket = net.connect(sock);
    socket.on('error', () => {});
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.write(Buffer.concat([PREFACE, SETTINGS_EMPTY]));
    for (let i = 0; i < 20; i++) {
      const id = 1 + 2 * i;
      socket.write(Buffer.concat([frame(1, 0x4, id, requestBlock('/test.Echo/Hang')), frame(0, 0x1, id, grpcMessage('x')), frame(3, 0, id, Buffer.from([0, 0, 0, 8]))]));
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(hanging.length, 8, 'only maxConcurrentStreams handlers started');
    const refused = [...resets(parseFrames(Buffer.concat(chunks)))].filter(([, code]) => code === 0x7).length;
    assert.equal(refused, 12);
    releaseHangs();
    await new Promise((r) => setTimeout(r, 100));
    socket.write(Buffer.concat([frame(1, 0x4, 41, requestBlock()), frame(0, 0x1, 41, grpcMessage('again'))]));
    await new Promise((r) => setTimeout(r, 300));
    socket.destroy();
    assert.ok(parseFrames(Buffer.concat(chunks)).some((f) => f.type === 0 && f.streamId === 41), 'a freed slot serves again');
  });

  test('30 MB of empty CONTINUATION frames are cut off after the frame cap', async () => {
    const empty = frame(9, 0, 1, Buffer.alloc(0));
    const chunk = Buffer.concat(Array.from({ length: 7000 }, () => empty)); // 63 KB
    const socket = net.connect(sock);
    socket.on('error', () => {});
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.write(Buffer.concat([PREFACE, SETTINGS_EMPTY, frame(1, 0, 1, Buffer.from([0x83]))]));
    let fed = 0;
    const wasClosed = closed(socket);
    for (; fed < 30_000_000 && !socket.destroyed && socket.writable; fed += chunk.length) {
      if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), wasClosed]);
    }
    await wasClosed;
    assert.ok(fed < 30_000_000, 'the server hung up before the end');
    assert.equal(goawayCode(parseFrames(Buffer.concat(chunks))), 0xb);
  });

  test('header blocks: the frame count and the size with frame headers are capped; what fits is served', async () => {
    const opening = Buffer.concat([PREFACE, SETTINGS_EMPTY]);
    const tiny = Buffer.concat(Array.from({ length: MAX_BLOCK_FRAMES }, () => frame(9, 0, 1, Buffer.from([0x86]))));
    const manyFrames = await converse(sock, [opening, frame(1, 0, 1, Buffer.from([0x83])), tiny]);
    assert.equal(goawayCode(manyFrames.frames), 0xb);

    const size = MAX_HEADER_BLOCK - 100;
    assert.ok(size + 200 * 9 > MAX_HEADER_BLOCK);
    const over = await converse(sock, [opening, splitBlock(blockOfSize(size), 200)]);
    assert.equal(goawayCode(over.frames), 0xb);

    const fits = MAX_HEADER_BLOCK - 64 * 9;
    for (const [blockSize, frames] of [[fits, 64], [100_000, 200]] as const) {
      const served = await converse(sock, [opening, splitBlock(blockOfSize(blockSize), frames)], 1000);
      assert.equal(goawayCode(served.frames), undefined);
      const [block] = decodeBlocks(served.frames.filter((f) => f.streamId === 1));
      // No request message: the call ends with INTERNAL, which shows it was read and routed.
      assert.equal(new Map(block!.fields).get('grpc-status'), String(grpc.status.INTERNAL));
    }
  });

  test('decoded headers held by open streams are bounded (HPACK amplification)', async () => {
    // A 4000-octet value in the client's table, then 250 blocks of 250 references to it: 64 KB on
    // the wire that would decode to 250 MB if every stream kept its headers.
    const value = 'v'.repeat(4000);
    const setup = Buffer.concat([Buffer.from([0x40]), str('x-a'), hpackInt(4000, 7, 0), Buffer.from(value)]);
    const refs = Buffer.alloc(250, 0x80 | 62);
    const blocks = Array.from({ length: 250 }, (_, i) =>
      frame(1, 0x4, 1 + 2 * i, Buffer.concat([requestBlock('/test.Echo/Hang'), i === 0 ? setup : Buffer.alloc(0), refs])),
    );
    const p = path.join(dir, 'amplify.sock');
    const wide = new GrpcServer({ maxConcurrentStreams: 1000 });
    wide.addService(echoDefinition, { Say: say, Hang: hang, Refuse: refuse });
    const l = await listenUnix(wide, p, {});
    try {
      const rssBefore = process.memoryUsage.rss();
      const { frames, closed: wasClosed } = await converse(p, [PREFACE, SETTINGS_EMPTY, ...blocks], 1500);
      const grown = process.memoryUsage.rss() - rssBefore;
      assert.equal(wasClosed, false);
      const refused = [...resets(frames)].filter(([, code]) => code === 0x7).length;
      assert.ok(refused > 200, `${refused} streams refused`);
      assert.ok(grown < 64 << 20, `RSS grew by ${grown >> 20} MiB`);
    } finally {
      await l.close();
      wide.close();
    }
  });

  test('a live socket is not taken over; close() removes the socket file', async () => {
    await assert.rejects(listenUnix(server, sock, {}), /in use/);
    const other = path.join(dir, 'other.sock');
    const second = await listenUnix(server, other, { mode: 0o600 });
    assert.equal((await fs.stat(other)).mode & 0o777, 0o600);
    const c = new grpc.Client('unix:' + other, insecure);
    assert.equal((await unary(c, 'second')).echo, 'second');
    // An open connection must not keep close() waiting.
    const idle = net.connect(other);
    idle.on('error', () => {});
    await new Promise((resolve) => idle.once('connect', resolve));
    await second.close();
    c.close();
    await closed(idle);
    await assert.rejects(fs.stat(other), { code: 'ENOENT' });
  });

  /** Connects and sends a preface: 'served' once the server's SETTINGS arrive, 'refused' if closed before. */
  function http2Client(p: string): { socket: net.Socket; outcome: Promise<'served' | 'refused'> } {
    const socket = net.connect(p);
    socket.on('error', () => {});
    const outcome = new Promise<'served' | 'refused'>((resolve) => {
      let received = 0;
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= 9) resolve('served');
      });
      socket.once('close', () => resolve(received >= 9 ? 'served' : 'refused'));
    });
    socket.write(Buffer.concat([PREFACE, SETTINGS_EMPTY]));
    return { socket, outcome };
  }

  test('a missing socket directory is made 0700, and only the socket is left in it', async () => {
    const nested = path.join(dir, 'run', 'cricket', 'x.sock');
    const l = await listenUnix(server, nested, {});
    try {
      assert.equal((await fs.stat(path.join(dir, 'run'))).mode & 0o777, 0o700);
      assert.equal((await fs.stat(path.dirname(nested))).mode & 0o777, 0o700);
      assert.deepEqual(await fs.readdir(path.dirname(nested)), ['x.sock']);
      assert.equal((await fs.stat(nested)).mode & 0o777, 0o660);
    } finally {
      await l.close();
    }
    assert.deepEqual(await fs.readdir(path.dirname(nested)), []);
  });

  test('connections over maxConnections are closed unanswered; a freed slot is served again', async () => {
    const p = path.join(dir, 'cap.sock');
    const l = await listenUnix(server, p, { maxConnections: 3 });
    const clients: Array<ReturnType<typeof http2Client>> = [];
    try {
      for (let i = 0; i < 3; i++) clients.push(http2Client(p));
      assert.deepEqual(await Promise.all(clients.map((c) => c.outcome)), ['served', 'served', 'served']);
      const extra = http2Client(p);
      clients.push(extra);
      assert.equal(await extra.outcome, 'refused');
      clients[0]!.socket.destroy();
      // The server notices the close asynchronously: a few tries, bounded.
      let outcome: 'served' | 'refused' = 'refused';
      for (let i = 0; i < 50 && outcome === 'refused'; i++) {
        const next = http2Client(p);
        clients.push(next);
        outcome = await next.outcome;
        if (outcome === 'refused') await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(outcome, 'served');
    } finally {
      for (const c of clients) c.socket.destroy();
      await l.close();
    }
  });

  test('an unfinished preface or header block is dropped after headerTimeoutMs; idle complete connections stay', async () => {
    const p = path.join(dir, 'slow.sock');
    const quick = new GrpcServer({ headerTimeoutMs: 300 });
    quick.addService(echoDefinition, { Say: say, Hang: hang, Refuse: refuse });
    const l = await listenUnix(quick, p, {});
    try {
      const session = rawSession(p);
      assert.equal((await rawCall(session, p, 'one')).grpcStatus, '0');
      const started = Date.now();
      const stalls = [
        PREFACE.subarray(0, 5),
        Buffer.concat([PREFACE, SETTINGS_EMPTY, frame(1, 0, 1, Buffer.from([0x83]))]),
        Buffer.concat([PREFACE, SETTINGS_EMPTY, frame(1, 0x4, 1, Buffer.alloc(100, 0x83)).subarray(0, 30)]),
        Buffer.concat([PREFACE, SETTINGS_EMPTY]).subarray(0, PREFACE.length + 4),
      ].map((bytes) => {
        const s = net.connect(p);
        s.on('error', () => {});
        s.write(bytes);
        return closed(s);
      });
      await Promise.all(stalls);
      assert.ok(Date.now() - started >= 250, 'closed by the clock, not at once');
      // Well past the limit, the idle session that completed its blocks is still usable.
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(session.closed || session.destroyed, false);
      assert.equal((await rawCall(session, p, 'two')).grpcStatus, '0');
      session.close();
    } finally {
      await l.close();
      quick.close();
    }
  });
});
