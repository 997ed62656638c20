// The gRPC server on its own HTTP/2, behind the unix listener: grpc-js clients and raw HTTP/2
// requests see gRPC's answers for replies, errors, unknown methods, deadlines, compression,
// size limits, malformed bodies and cancelled streams.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { GrpcServer } from '../../src/server/grpc-server.js';
import { listenUnix, type UnixListener } from '../../src/server/listen-unix.js';

const identity = (b: Buffer): Buffer => b;
const method = (name: string, responseStream = false) => ({
  path: `/test.Svc/${name}`,
  requestStream: false,
  responseStream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const definition = { Echo: method('Echo'), Fail: method('Fail'), Slow: method('Slow'), Count: method('Count', true), Throw: method('Throw') };

let cancelledSlow = 0;
let streamCancelled: Promise<void>;
let markStreamCancelled: () => void = () => undefined;

const implementation = {
  Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('echo:'), call.request])),
  Fail: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb({ code: grpc.status.NOT_FOUND, details: 'pod "x" not found\n100%' }),
  Slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    call.on('cancelled', () => cancelledSlow++);
    setTimeout(() => cb(null, Buffer.from('late')), 500);
  },
  Throw: () => {
    throw new Error('handler bug');
  },
  Count: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    const text = call.request.toString();
    const n = Number(text);
    if (n < 0) {
      call.write(Buffer.from('first'));
      call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'too slow' });
      return;
    }
    if (text === 'forever') {
      // Runs until the client goes away.
      const timer = setInterval(() => call.write(Buffer.alloc(1024)), 5);
      call.on('cancelled', () => {
        clearInterval(timer);
        markStreamCancelled();
      });
      return;
    }
    for (let i = 0; i < n; i++) call.write(Buffer.from(String(i)));
    call.end();
  },
};

let dir: string;
let sock: string;
let server: GrpcServer;
let listener: UnixListener;
let client: grpc.Client;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cricket-grpc-server-'));
  sock = path.join(dir, 's.sock');
  server = new GrpcServer({ maxReceiveMessageLength: 64 * 1024 });
  server.addService(definition, implementation as unknown as grpc.UntypedServiceImplementation);
  listener = await listenUnix(server, sock, {});
  client = new grpc.Client(`unix:${sock}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
});

after(async () => {
  client.close();
  await listener.close();
  await fs.rm(dir, { recursive: true, force: true });
});

function call(name: string, body: Buffer, deadlineMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(`/test.Svc/${name}`, identity, identity, body, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) =>
      err ? reject(err) : resolve(res!),
    );
  });
}

function stream(body: Buffer): Promise<{ messages: string[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const messages: string[] = [];
    const s = client.makeServerStreamRequest(`/test.Svc/Count`, identity, identity, body, new grpc.Metadata(), { deadline: Date.now() + 5000 });
    s.on('data', (m: Buffer) => messages.push(m.toString()));
    s.on('error', (error: grpc.ServiceError) => resolve({ messages, error }));
    s.on('end', () => setImmediate(() => resolve({ messages })));
  });
}

const failsWith = (code: grpc.status, details?: RegExp) => (err: unknown) => {
  const e = err as grpc.ServiceError;
  assert.equal(e.code, code, `${e.code} ${e.details}`);
  if (details) assert.match(e.details, details);
  return true;
};

interface RawAnswer {
  status?: number;
  grpcStatus?: string;
  grpcMessage?: string;
  body: Buffer;
}

/** One request with hand-made headers and body, as a careless or hostile client would send it. */
function raw(headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(sock) });
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': '/test.Svc/Echo', 'content-type': 'application/grpc', te: 'trailers', ...headers });
    const answer: RawAnswer = { body: Buffer.alloc(0) };
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h[':status'] !== undefined) answer.status = Number(h[':status']);
      if (h['grpc-status'] !== undefined) answer.grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) answer.grpcMessage = String(h['grpc-message']);
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', (c: Buffer) => (answer.body = Buffer.concat([answer.body, c])));
    req.on('error', () => undefined);
    req.on('close', () => {
      session.close();
      resolve(answer);
    });
    req.end(body);
  });
}

function framed(body: Buffer, flag = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

test('a unary reply, an error status with its message, and a handler that throws', async () => {
  assert.equal((await call('Echo', Buffer.from('hi'))).toString(), 'echo:hi');
  assert.equal((await call('Echo', Buffer.alloc(0))).toString(), 'echo:');
  await assert.rejects(call('Fail', Buffer.from('x')), failsWith(grpc.status.NOT_FOUND, /^pod "x" not found\n100%$/));
  await assert.rejects(call('Throw', Buffer.from('x')), failsWith(grpc.status.INTERNAL, /handler bug/));
  // Many calls at once on one connection.
  const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => call('Echo', Buffer.from(String(i)))));
  assert.deepEqual(replies.map((r) => r.toString()), Array.from({ length: 200 }, (_, i) => `echo:${i}`));
});

test('an unknown method is UNIMPLEMENTED', async () => {
  await assert.rejects(call('Nope', Buffer.from('x')), failsWith(grpc.status.UNIMPLEMENTED, /unknown method \/test\.Svc\/Nope/));
});

test('server streaming: messages then OK, no messages, and an error after a message', async () => {
  assert.deepEqual(await stream(Buffer.from('3')), { messages: ['0', '1', '2'] });
  assert.deepEqual(await stream(Buffer.from('')), { messages: [] });
  const failed = await stream(Buffer.from('-1'));
  assert.deepEqual(failed.messages, ['first']);
  assert.equal(failed.error?.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(failed.error?.details, 'too slow');
});

test('a client that cancels a stream makes the handler see cancelled', async () => {
  streamCancelled = new Promise((resolve) => (markStreamCancelled = resolve));
  const s = client.makeServerStreamRequest(`/test.Svc/Count`, identity, identity, Buffer.from('forever'), new grpc.Metadata(), {});
  s.on('error', () => undefined);
  await new Promise((resolve) => s.once('data', resolve));
  s.cancel();
  await streamCancelled;
});

test('a deadline that passes ends the call with DEADLINE_EXCEEDED and cancels the handler', async () => {
  const before = cancelledSlow;
  await assert.rejects(call('Slow', Buffer.from('x'), 100), failsWith(grpc.status.DEADLINE_EXCEEDED));
  // The client gives up at its deadline too; the server's side follows within moments.
  for (let i = 0; i < 50 && cancelledSlow === before; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(cancelledSlow, before + 1);
  // The late reply finds the call over and the connection still serves.
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal((await call('Echo', Buffer.from('after'))).toString(), 'echo:after');
});

test('a request over the message limit is RESOURCE_EXHAUSTED, at the limit it is served', async () => {
  await assert.rejects(call('Echo', Buffer.alloc(64 * 1024 + 1)), failsWith(grpc.status.RESOURCE_EXHAUSTED, /over the limit/));
  assert.equal((await call('Echo', Buffer.alloc(64 * 1024))).length, 64 * 1024 + 5);
});

test('gzip and deflate requests are read; an unknown encoding and a decompression bomb are refused', async () => {
  const gz = await raw({ 'grpc-encoding': 'gzip' }, framed(zlib.gzipSync(Buffer.from('zipped')), 1));
  assert.equal(gz.grpcStatus, '0');
  assert.equal(gz.body.subarray(5).toString(), 'echo:zipped');
  const df = await raw({ 'grpc-encoding': 'deflate' }, framed(zlib.deflateSync(Buffer.from('deflated')), 1));
  assert.equal(df.body.subarray(5).toString(), 'echo:deflated');
  const unknown = await raw({ 'grpc-encoding': 'snappy' }, framed(Buffer.from('x'), 1));
  assert.equal(unknown.grpcStatus, String(grpc.status.UNIMPLEMENTED));
  const bomb = await raw({ 'grpc-encoding': 'gzip' }, framed(zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024)), 1));
  assert.equal(bomb.grpcStatus, String(grpc.status.RESOURCE_EXHAUSTED));
});

test('malformed requests: no message, two messages, a cut message, a bad timeout, wrong content type or method', async () => {
  assert.equal((await raw({}, Buffer.alloc(0))).grpcStatus, String(grpc.status.INTERNAL));
  assert.equal((await raw({}, Buffer.concat([framed(Buffer.from('a')), framed(Buffer.from('b'))]))).grpcStatus, String(grpc.status.INTERNAL));
  assert.equal((await raw({}, framed(Buffer.from('abc')).subarray(0, 6))).grpcStatus, String(grpc.status.INTERNAL));
  assert.equal((await raw({}, Buffer.from([7, 0, 0, 0, 0]))).grpcStatus, String(grpc.status.INTERNAL));
  const badTimeout = await raw({ 'grpc-timeout': 'soon' }, framed(Buffer.from('a')));
  assert.equal(badTimeout.grpcStatus, String(grpc.status.INTERNAL));
  assert.match(badTimeout.grpcMessage ?? '', /grpc-timeout/);
  assert.equal((await raw({ 'content-type': 'text/plain' }, framed(Buffer.from('a')))).status, 415);
  assert.equal((await raw({ ':method': 'GET' }, Buffer.alloc(0))).status, 405);
  // The connection-level answer is still a working server.
  const ok = await raw({}, framed(Buffer.from('fine')));
  assert.equal(ok.status, 200);
  assert.equal(ok.grpcStatus, '0');
  assert.equal(ok.body.subarray(5).toString(), 'echo:fine');
});

test('requests still arriving are bounded across calls', async () => {
  const tight = new GrpcServer({ maxReceiveMessageLength: 1 << 20, maxBufferedRequestBytes: 256 * 1024 });
  tight.addService(definition, implementation as unknown as grpc.UntypedServiceImplementation);
  const p = path.join(dir, 'tight.sock');
  const l = await listenUnix(tight, p, {});
  const session = http2.connect('http://localhost', { createConnection: () => net.connect(p) });
  session.on('error', () => undefined);
  try {
    // Each request announces 1 MiB and sends 100 KiB of it, then waits: the third passes the bound.
    const statuses = await Promise.all(
      Array.from({ length: 4 }, () =>
        new Promise<string | undefined>((resolve) => {
          const req = session.request({ ':method': 'POST', ':path': '/test.Svc/Echo', 'content-type': 'application/grpc' });
          let status: string | undefined;
          req.on('response', (h) => (status = h['grpc-status'] as string | undefined));
          req.on('error', () => undefined);
          req.on('close', () => resolve(status));
          const head = Buffer.alloc(5);
          head.writeUInt32BE(1 << 20, 1);
          req.write(Buffer.concat([head, Buffer.alloc(100 * 1024)]));
          setTimeout(() => req.close(), 1500);
        }),
      ),
    );
    assert.ok(statuses.filter((s) => s === String(grpc.status.RESOURCE_EXHAUSTED)).length >= 1, JSON.stringify(statuses));
  } finally {
    session.destroy();
    await l.close();
  }
});
