import { after, before, describe, test } from 'node:test';
import type { Duplex } from 'node:stream';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { AuthorityRewriter, frontStream, MAX_BLOCK_FRAMES, MAX_HEADER_BLOCK } from '../../src/server/authority.js';
import { listenUnix, type UnixListener } from '../../src/server/listen-unix.js';
import { GrpcServer } from '../../src/server/grpc-server.js';
import { frame, PREFACE } from '../harness/http2-frames.js';

// hpack.js's stream decoder, used only here as an independent check of the rewriter's output.
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
const echoDefinition: grpc.ServiceDefinition = {
  Say: {
    path: '/test.Echo/Say',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

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

// ---- tests -------------------------------------------------------------------------------

describe('authority front (integration)', () => {
  let dir: string;
  let sock: string;
  let plainSock: string;
  let server: GrpcServer;
  let control: grpc.Server;
  let front: UnixListener;
  let client: grpc.Client;
  const insecure = grpc.credentials.createInsecure();

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cricket-authority-'));
    sock = path.join(dir, 'cricket.sock');
    plainSock = path.join(dir, 'plain.sock');
    server = new GrpcServer();
    server.addService(echoDefinition, { Say: say });
    control = new grpc.Server();
    control.addService(echoDefinition, { Say: say });
    // A socket file left by a dead process must not stop the listener.
    await makeStaleSocket(sock);
    assert.ok((await fs.lstat(sock)).isSocket());
    front = await listenUnix(server, sock, {});
    // The same service on grpc-js's own socket, with no front: the control group.
    await new Promise<void>((resolve, reject) =>
      control.bindAsync('unix:' + plainSock, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    client = new grpc.Client('unix:' + sock, insecure);
  });

  after(async () => {
    client.close();
    await front.close();
    server.close();
    await new Promise<void>((resolve) => control.tryShutdown(() => resolve()));
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('socket gets mode 0660', async () => {
    const stat = await fs.stat(sock);
    assert.ok(stat.isSocket());
    assert.equal(stat.mode & 0o777, 0o660);
  });

  test('(a) grpc-js client works through the front', async () => {
    const reply = await unary(client, 'hello');
    assert.equal(reply.echo, 'hello');
    assert.equal(reply.authority, 'localhost');
  });

  test('(b) socket-path :authority fails without the front and succeeds with it', async () => {
    const plain = rawSession(plainSock);
    const rejected = await rawCall(plain, plainSock, 'direct');
    plain.close();
    assert.equal(rejected.grpcStatus, undefined);
    assert.equal(rejected.reply, undefined);
    assert.equal(rejected.rstCode, http2.constants.NGHTTP2_PROTOCOL_ERROR);

    // Same request through the front.
    const session = rawSession(sock);
    const ok = await rawCall(session, sock, 'via front');
    session.close();
    assert.equal(ok.status, 200);
    assert.equal(ok.grpcStatus, '0');
    assert.equal(ok.reply?.echo, 'via front');
    assert.equal(ok.reply?.authority, 'localhost');

    // And `localhost` stays accepted on both paths.
    const plain2 = rawSession(plainSock);
    assert.equal((await rawCall(plain2, 'localhost', 'x')).grpcStatus, '0');
    plain2.close();
  });

  test('(c) empty :authority and a conflicting host header are accepted', async () => {
    const session = rawSession(sock);
    const empty = await rawCall(session, '', 'empty');
    assert.equal(empty.grpcStatus, '0');
    assert.equal(empty.reply?.authority, 'localhost');
    const withHost = await rawCall(session, sock, 'host', { host: sock });
    assert.equal(withHost.grpcStatus, '0');
    assert.equal(withHost.reply?.echo, 'host');
    session.close();
  });

  test('(d) 40 KB metadata needs CONTINUATION frames; many requests share one HPACK context', async () => {
    const big = randomBytes(30_000).toString('base64'); // 40000 chars
    const md = new grpc.Metadata();
    md.set('x-big', big);
    const reply = await unary(client, 'big', md);
    assert.equal(reply.big, big.length);

    // Raw client with the socket path as authority and the big value too.
    const session = rawSession(sock);
    const raw = await rawCall(session, sock, 'raw big', { 'x-big': big });
    assert.equal(raw.grpcStatus, '0');
    assert.equal(raw.reply?.big, big.length);

    // Unique values force inserts and evictions in both dynamic tables.
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

    // Concurrent streams interleave HEADERS and DATA frames on the connection.
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) => rawCall(session, sock, `c${i}`, { 'x-seq': `c${i}` })),
    );
    results.forEach((r, i) => {
      assert.equal(r.grpcStatus, '0');
      assert.equal(r.reply?.echo, `c${i}`);
    });
    // A big request body passes through untouched.
    const body = 'z'.repeat(1_000_000);
    const large = await unary(client, body);
    assert.equal(large.echo.length, body.length);
    session.close();
  });

  test('(e) garbage closes only its own connection', async () => {
    const session = rawSession(sock);
    assert.equal((await rawCall(session, sock, 'before')).grpcStatus, '0');

    const http1 = net.connect(sock);
    http1.on('error', () => {});
    http1.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed(http1);

    // Valid preface, then an HPACK block indexing entry 0 (a decoding error).
    const badHpack = net.connect(sock);
    badHpack.on('error', () => {});
    badHpack.write(Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), frame(1, 0x5, 1, Buffer.from([0x80]))]));
    await closed(badHpack);

    // HEADERS without END_HEADERS followed by a DATA frame.
    const noContinuation = net.connect(sock);
    noContinuation.on('error', () => {});
    noContinuation.write(Buffer.concat([PREFACE, frame(1, 0, 1, Buffer.from([0x83])), frame(0, 1, 1, Buffer.alloc(3))]));
    await closed(noContinuation);

    // Padding longer than the frame.
    const badPad = net.connect(sock);
    badPad.on('error', () => {});
    badPad.write(Buffer.concat([PREFACE, frame(1, 0x4 | 0x8, 1, Buffer.from([9, 0x83]))]));
    await closed(badPad);

    assert.equal((await rawCall(session, sock, 'after')).grpcStatus, '0');
    assert.equal((await unary(client, 'still here')).echo, 'still here');
    session.close();
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

  // ---- limits of the listener -------------------------------------------------------------

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
    socket.write(Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0))]));
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
    const l = await listenUnix(server, p, { headerTimeoutMs: 300 });
    try {
      const session = rawSession(p);
      assert.equal((await rawCall(session, p, 'one')).grpcStatus, '0');
      const started = Date.now();
      const stalls = [
        PREFACE.subarray(0, 5),
        Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), frame(1, 0, 1, Buffer.from([0x83]))]),
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
    }
  });

  test('rewritten bytes waiting for a server that stopped reading are bounded', async () => {
    // A 4000-octet value in the client's table, then 250 small blocks of 250 references to it:
    // 64 KB on the wire that would decode to 250 MB.
    const value = 'v'.repeat(4000);
    // HPACK integer 4000 with a 7-bit prefix (RFC 7541 5.1).
    const lengthPrefix = Buffer.from([0x7f, ((4000 - 127) % 128) | 0x80, Math.floor((4000 - 127) / 128)]);
    const setup = frame(1, 0x4 | 0x1, 1, Buffer.concat([Buffer.from([0x83, 0x40]), str('x-a'), lengthPrefix, Buffer.from(value)]));
    const amplifier = Buffer.concat(Array.from({ length: 250 }, (_, i) => frame(1, 0x4 | 0x1, 3 + 2 * i, Buffer.alloc(250, 0x80 | 62))));
    assert.ok(amplifier.length < 65536);

    const p = path.join(dir, 'stalled-server.sock');
    const fronts: Duplex[] = [];
    // Nobody reads the front stream: the server side of an HTTP/2 session that stopped reading.
    const raw = net.createServer((socket) => fronts.push(frontStream(socket, 'localhost', { headerTimeoutMs: 60_000 })));
    await new Promise<void>((resolve) => raw.listen(p, resolve));
    try {
      const rssBefore = process.memoryUsage.rss();
      const client = net.connect(p);
      client.on('error', () => {});
      client.write(Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), setup]));
      client.write(amplifier);
      const outcome = await Promise.race([
        closed(client).then(() => 'closed'),
        new Promise((resolve) => setTimeout(resolve, 20_000, 'still open')),
      ]);
      const grown = process.memoryUsage.rss() - rssBefore;
      client.destroy();
      assert.equal(outcome, 'closed');
      assert.ok(grown < 64 << 20, `RSS grew by ${grown >> 20} MiB`);
      assert.ok(fronts[0]!.destroyed);
      assert.ok(fronts[0]!.readableLength < 8 << 20);
    } finally {
      for (const f of fronts) f.destroy();
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });
});

describe('AuthorityRewriter', () => {
  const SOCK = '/run/cricket/cricket.sock';

  // Header block split over HEADERS (PADDED|PRIORITY) and CONTINUATION, with a table size
  // update, an incrementally indexed literal, and (in the second block) a reference to it.
  function clientStream(): { bytes: Buffer; data: Buffer; ping: Buffer } {
    const block1 = Buffer.concat([
      Buffer.from([0x3f, 0xe1, 0x1f]), // size update to 4096
      Buffer.from([0x83, 0x86]), // :method POST, :scheme http
      Buffer.from([0x04]), str('/test.Echo/Say'), // :path, without indexing
      Buffer.from([0x41]), str(SOCK), // :authority, incremental indexing
      Buffer.from([0x40]), str('x-a'), str('b'), // new name, incremental indexing
      Buffer.from([0x10]), str('x-secret'), str('s'), // never indexed
      Buffer.from([0x00]), str('host'), str(SOCK),
    ]);
    const cut = 10;
    const priority = Buffer.from([0x80, 0, 0, 0, 15]);
    const pad = 4;
    const headers = frame(1, 0x8 | 0x20, 1, Buffer.concat([Buffer.from([pad]), priority, block1.subarray(0, cut), Buffer.alloc(pad)]));
    const cont = frame(9, 0x4, 1, block1.subarray(cut));
    const data = frame(0, 0x1, 1, Buffer.from('payload'));
    const ping = frame(6, 0, 0, Buffer.from('12345678'));
    // Stream 3 reuses both dynamic entries: index 62 is x-a: b, 63 is :authority.
    const block2 = Buffer.from([0x83, 0x86, 0x04, ...str('/p'), 0xbf, 0xbe]);
    const headers2 = frame(1, 0x4 | 0x1, 3, block2);
    const bytes = Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), headers, cont, data, ping, headers2]);
    return { bytes, data, ping };
  }

  function run(bytes: Buffer, chunkSize: number): Buffer[] {
    const out: Buffer[] = [];
    const rw = new AuthorityRewriter((b) => out.push(b));
    for (let i = 0; i < bytes.length; i += chunkSize) rw.write(bytes.subarray(i, i + chunkSize));
    assert.ok(rw.idle);
    return out;
  }

  function decodeBlocks(frames: Frame[]): Array<Array<[string, string]>> {
    const dec = hpackStreams.decompressor.create({ table: { maxSize: 4096 } });
    const blocks: Array<Array<[string, string]>> = [];
    let current: Buffer[] = [];
    for (const f of frames) {
      if (f.type !== 1 && f.type !== 9) continue;
      let payload = f.payload;
      if (f.type === 1 && f.flags & 0x20) payload = payload.subarray(5);
      current.push(payload);
      if (f.flags & 0x4) {
        dec.write(Buffer.concat(current));
        dec.execute();
        const fields: Array<[string, string]> = [];
        for (let h = dec.read(); h; h = dec.read()) fields.push([h.name, h.value]);
        blocks.push(fields);
        current = [];
      }
    }
    return blocks;
  }

  test('rewrites :authority, keeps priority, END_STREAM and other frames', () => {
    const { bytes, data, ping } = clientStream();
    const out = Buffer.concat(run(bytes, bytes.length));
    assert.deepEqual(out.subarray(0, PREFACE.length), PREFACE);
    const frames = parseFrames(out.subarray(PREFACE.length));
    assert.deepEqual(frames.map((f) => [f.type, f.streamId]), [[4, 0], [1, 1], [0, 1], [6, 0], [1, 3]]);
    const [, h1, d, p, h2] = frames;
    assert.equal(h1!.flags, 0x20 | 0x4); // PRIORITY, END_HEADERS, no padding
    assert.deepEqual(h1!.payload.subarray(0, 5), Buffer.from([0x80, 0, 0, 0, 15]));
    assert.equal(h2!.flags, 0x4 | 0x1);
    assert.deepEqual(frame(d!.type, d!.flags, d!.streamId, d!.payload), data);
    assert.deepEqual(frame(p!.type, p!.flags, p!.streamId, p!.payload), ping);
    assert.deepEqual(decodeBlocks(frames), [
      [[':method', 'POST'], [':scheme', 'http'], [':path', '/test.Echo/Say'], [':authority', 'localhost'], ['x-a', 'b'], ['x-secret', 's']],
      [[':method', 'POST'], [':scheme', 'http'], [':path', '/p'], [':authority', 'localhost'], ['x-a', 'b']],
    ]);
  });

  test('a client whose first block has a plain authority is passed through untouched from then on', () => {
    const block1 = Buffer.concat([Buffer.from([0x83, 0x86, 0x04]), str('/test.Echo/Say'), Buffer.from([0x41]), str('localhost'), Buffer.from([0x40]), str('x-a'), str('b')]);
    // The second block names the socket path: nghttp2's business now, not the front's.
    const block2 = Buffer.concat([Buffer.from([0x83, 0x86, 0x04]), str('/p'), Buffer.from([0x01]), str(SOCK), Buffer.from([0xbe])]);
    const bytes = Buffer.concat([
      PREFACE, frame(4, 0, 0, Buffer.alloc(0)), frame(1, 0x4, 1, block1), frame(0, 0x1, 1, Buffer.from('payload')), frame(1, 0x4 | 0x1, 3, block2),
    ]);
    for (const size of [1, 5, 9, 40, bytes.length]) {
      const out = Buffer.concat(run(bytes, size));
      assert.deepEqual(out, bytes, `chunk size ${size}`);
    }
    // The same stream with the socket path in the first block is rewritten throughout.
    const bad = Buffer.concat([PREFACE, frame(1, 0x4, 1, Buffer.concat([Buffer.from([0x83, 0x86, 0x04]), str('/p'), Buffer.from([0x41]), str(SOCK)])), frame(1, 0x4, 3, block1)]);
    const frames = parseFrames(Buffer.concat(run(bad, bad.length)).subarray(PREFACE.length));
    assert.deepEqual(decodeBlocks(frames).map((b) => b.find(([n]) => n === ':authority')?.[1]), ['localhost', 'localhost']);
  });

  test('output does not depend on how the input is chunked', () => {
    const { bytes } = clientStream();
    const whole = Buffer.concat(run(bytes, bytes.length));
    for (const size of [1, 2, 7, 9, 10, 33]) assert.deepEqual(Buffer.concat(run(bytes, size)), whole, `chunk size ${size}`);
  });

  test('passthrough frames are emitted as slices of the input, not copies', () => {
    const data = Buffer.concat(Array.from({ length: 8 }, () => frame(0, 0, 1, Buffer.alloc(16384, 7))));
    const input = Buffer.concat([PREFACE, data]);
    const out = run(input, input.length);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.buffer, input.buffer);
    assert.equal(out[0]!.length, input.length);
  });

  test('large blocks are re-split at 16384 bytes', () => {
    const value = 'v'.repeat(100);
    const fields = Buffer.concat(Array.from({ length: 400 }, (_, i) => Buffer.concat([Buffer.from([0x00]), str(`x-${i}`), str(value)])));
    const input = Buffer.concat([PREFACE, frame(1, 0x4, 1, Buffer.concat([Buffer.from([0x83, 0x01]), str(SOCK), fields]))]);
    const frames = parseFrames(Buffer.concat(run(input, 1000)).subarray(PREFACE.length));
    assert.ok(frames.length >= 3);
    assert.equal(frames[0]!.type, 1);
    frames.forEach((f, i) => {
      assert.ok(f.payload.length <= 16384);
      if (i > 0) assert.equal(f.type, 9);
      assert.equal(f.flags & 0x4, i === frames.length - 1 ? 0x4 : 0);
    });
    const [block] = decodeBlocks(frames);
    assert.equal(block!.length, 402);
    assert.deepEqual(block![1], [':authority', 'localhost']);
  });

  test('rejects bad input', () => {
    const bad: Array<[string, Buffer]> = [
      ['preface', Buffer.from('GET / HTTP/1.1\r\n\r\n')],
      ['continuation without headers', Buffer.concat([PREFACE, frame(9, 4, 1, Buffer.from([0x83]))])],
      ['oversized table update', Buffer.concat([PREFACE, frame(1, 4, 1, Buffer.from([0x3f, 0xe2, 0x1f]))])],
      ['table update after a field', Buffer.concat([PREFACE, frame(1, 4, 1, Buffer.from([0x83, 0x20]))])],
      ['index out of range', Buffer.concat([PREFACE, frame(1, 4, 1, Buffer.from([0xff, 0x00]))])],
      ['truncated string', Buffer.concat([PREFACE, frame(1, 4, 1, Buffer.from([0x04, 0x05, 0x41]))])],
    ];
    for (const [name, bytes] of bad) {
      assert.throws(() => run(bytes, bytes.length), { name: 'Http2FrontError' }, name);
    }
  });

  // ---- bounds on header blocks -----------------------------------------------------------

  /** HPACK integer with an N-bit prefix (RFC 7541 5.1), first byte or-ed with `high`. */
  function hpackInt(value: number, prefixBits: number, high: number): Buffer {
    const max = (1 << prefixBits) - 1;
    if (value < max) return Buffer.from([high | value]);
    const out = [high | max];
    for (value -= max; value >= 128; value = Math.floor(value / 128)) out.push((value % 128) | 0x80);
    out.push(value);
    return Buffer.from(out);
  }

  /** A valid block of exactly `size` octets: :method POST, then one literal `x-big` without indexing. */
  function blockOfSize(size: number): Buffer {
    const name = str('x-big');
    let valueLen = size - 2 - name.length - 1;
    while (1 + 1 + name.length + hpackInt(valueLen, 7, 0).length + valueLen > size) valueLen--;
    const block = Buffer.concat([Buffer.from([0x83, 0x00]), name, hpackInt(valueLen, 7, 0), Buffer.alloc(valueLen, 'v')]);
    assert.equal(block.length, size);
    return block;
  }

  /** HEADERS + CONTINUATION frames carrying `block` in `frames` pieces of about equal size. */
  function splitBlock(block: Buffer, frames: number): Buffer {
    const step = Math.ceil(block.length / frames);
    const out: Buffer[] = [];
    for (let at = 0, i = 0; at < block.length; at += step, i++) {
      const last = at + step >= block.length;
      out.push(frame(i === 0 ? 1 : 9, last ? 0x4 | 0x1 : 0, 1, block.subarray(at, at + step)));
    }
    assert.equal(out.length, frames);
    return Buffer.concat(out);
  }

  const opening = (): Buffer => Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), frame(1, 0, 1, Buffer.from([0x83]))]);

  test('30 MB of empty CONTINUATION frames are cut off early, not buffered', () => {
    const rw = new AuthorityRewriter(() => {});
    rw.write(opening());
    const empty = frame(9, 0, 1, Buffer.alloc(0));
    const chunk = Buffer.concat(Array.from({ length: 7000 }, () => empty)); // 63 KB, about one socket read
    const heapBefore = process.memoryUsage().heapUsed;
    let fed = 0;
    assert.throws(
      () => {
        for (; fed < 30_000_000; fed += chunk.length) rw.write(chunk);
      },
      { name: 'Http2FrontError', message: /more than 256 frames/ },
    );
    assert.equal(fed, 0, 'the first chunk already exceeds the frame cap');
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 16 << 20);
  });

  test('a block of one-byte CONTINUATION frames may not exceed the frame cap', () => {
    const rw = new AuthorityRewriter(() => {});
    rw.write(opening());
    const tiny = frame(9, 0, 1, Buffer.from([0x86]));
    let frames = 1; // the HEADERS frame
    assert.throws(
      () => {
        for (; frames < 100_000; frames++) rw.write(tiny);
      },
      { name: 'Http2FrontError', message: /frames/ },
    );
    assert.equal(frames, MAX_BLOCK_FRAMES);
  });

  test('frame headers count against the header block size cap', () => {
    // Payload alone is under the cap; with 200 frame headers it is over.
    const size = MAX_HEADER_BLOCK - 100;
    const over = Buffer.concat([PREFACE, splitBlock(blockOfSize(size), 200)]);
    assert.ok(size + 200 * 9 > MAX_HEADER_BLOCK);
    assert.throws(() => run(over, 65536), { name: 'Http2FrontError', message: /exceeds/ });

    // What fits, counting frame headers, passes: a block near the cap, and one spread over many frames.
    const fits = MAX_HEADER_BLOCK - 64 * 9;
    for (const [blockSize, frames] of [[fits, 64], [100_000, 200]] as const) {
      const input = Buffer.concat([PREFACE, splitBlock(blockOfSize(blockSize), frames)]);
      const [block] = decodeBlocks(parseFrames(Buffer.concat(run(input, 65536)).subarray(PREFACE.length)));
      assert.equal(block![0]![0], ':method');
      assert.equal(block![1]![0], 'x-big');
      assert.equal(block![1]![1].length, blockSize - 2 - 6 - hpackInt(block![1]![1].length, 7, 0).length);
    }
  });

  test('headerPending is true exactly while the preface or a header block is incomplete', () => {
    const rw = new AuthorityRewriter(() => {});
    assert.equal(rw.headerPending, true);
    rw.write(PREFACE.subarray(0, 10));
    assert.equal(rw.headerPending, true);
    rw.write(Buffer.concat([PREFACE.subarray(10), frame(4, 0, 0, Buffer.alloc(0))]));
    assert.equal(rw.headerPending, false);
    const headers = frame(1, 0x4, 1, Buffer.from([0x83, 0x86]));
    rw.write(headers.subarray(0, 10)); // frame header and one payload octet
    assert.equal(rw.headerPending, true);
    rw.write(headers.subarray(10));
    assert.equal(rw.headerPending, false);
    rw.write(frame(1, 0, 3, Buffer.from([0x83])));
    assert.equal(rw.headerPending, true);
    rw.write(frame(9, 0, 3, Buffer.alloc(0)));
    assert.equal(rw.headerPending, true);
    rw.write(frame(9, 0x4, 3, Buffer.from([0x86])));
    assert.equal(rw.headerPending, false);
    rw.write(frame(0, 0, 3, Buffer.alloc(100)).subarray(0, 50)); // half a DATA frame is not a header block
    assert.equal(rw.headerPending, false);
  });
});
