/**
 * cricket's gRPC server: Node's HTTP/2 server and the gRPC protocol's unary and server-streaming
 * calls, which are all the CRI has. It serves the grpc-js service definitions and handlers the
 * rest of server/ builds, on connections the unix listener hands it (listen-unix.ts).
 *
 * The CRI is one client on one socket making small calls all the time (kubelet relists every
 * second): a call here is one routing lookup, one deserialize, the handler, one serialize, and
 * one HTTP/2 response with its trailers; no interceptors, channelz or per-call timers without a
 * deadline.
 *
 * Request bodies are bounded per message and, across all calls, by the bytes held while
 * requests arrive, so clients that send slowly or in parallel cannot make the daemon hold
 * unbounded memory.
 */
import http2, { type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { status, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { logger } from '../log/logger.js';
import { Exchange, UnaryCall, WritableCall, type StatusLike } from './grpc-call.js';
import { GrpcFramingError, MessageReader, parseGrpcTimeout, type FramedMessage, type MessageBody } from './grpc-framing.js';

const { HTTP2_HEADER_STATUS, HTTP_STATUS_METHOD_NOT_ALLOWED, HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE } = http2.constants;

export interface GrpcServerOptions {
  /** Largest request message, compressed or not (default 16 MiB, as kubelet's own limit). */
  maxReceiveMessageLength?: number;
  /** Request bytes held at once across all calls still receiving (default 256 MiB). */
  maxBufferedRequestBytes?: number;
  /** Calls open at once on one connection (default 1000). */
  maxConcurrentStreams?: number;
}

type UnaryHandler = (call: UnaryCall<unknown>, callback: (err: StatusLike | null, value?: unknown) => void) => void;
type StreamHandler = (call: WritableCall<unknown, unknown>) => void;

interface Route {
  name: string;
  responseStream: boolean;
  deserialize: (bytes: Buffer) => unknown;
  serialize: (value: unknown) => MessageBody;
  handler: UnaryHandler | StreamHandler;
}

/** Connections handed to the server, and a way to end them all (see listen-unix.ts). */
export interface ConnectionInjector {
  injectConnection(connection: Duplex): void;
  destroy(): void;
}

export class GrpcServer {
  private readonly routes = new Map<string, Route>();
  private readonly http: http2.Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly maxMessage: number;
  private readonly maxBuffered: number;
  private buffered = 0;

  constructor(options: GrpcServerOptions = {}) {
    this.maxMessage = options.maxReceiveMessageLength ?? 16 * 1024 * 1024;
    this.maxBuffered = options.maxBufferedRequestBytes ?? 256 * 1024 * 1024;
    this.http = http2.createServer({
      // Replies queued for a client that reads slowly count against this (MB). Node's default of
      // 10 would make a busy kubelet's new calls fail with ENHANCE_YOUR_CALM while a few large
      // lists are still being sent; 128 still bounds a client that never reads.
      maxSessionMemory: 128,
      settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 1000 },
    });
    this.http.setTimeout(0);
    this.http.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      session.on('error', (err) => logger.debug({ err }, 'CRI HTTP/2 session error'));
    });
    this.http.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.onStream(stream, headers));
  }

  /** Serves every method of `definition` with the handler of the same key in `implementation`. */
  addService(definition: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    for (const [key, method] of Object.entries(definition)) {
      const handler = implementation[key];
      if (!handler) throw new Error(`no handler for ${method.path}`);
      if (method.requestStream) throw new Error(`${method.path}: client-streaming calls are not served`);
      this.routes.set(method.path, {
        name: method.path.slice(method.path.lastIndexOf('/') + 1),
        responseStream: method.responseStream,
        deserialize: method.requestDeserialize as (bytes: Buffer) => unknown,
        serialize: method.responseSerialize as (value: unknown) => MessageBody,
        handler: handler as unknown as UnaryHandler | StreamHandler,
      });
    }
  }

  createConnectionInjector(): ConnectionInjector {
    return {
      injectConnection: (connection) => this.http.emit('connection', connection),
      destroy: () => this.close(),
    };
  }

  /** Ends every connection at once; calls in progress are cut. */
  close(): void {
    for (const session of this.sessions) session.destroy();
    this.sessions.clear();
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', (err) => logger.debug({ err }, 'CRI HTTP/2 stream error'));
    if (headers[':method'] !== 'POST') {
      stream.respond({ [HTTP2_HEADER_STATUS]: HTTP_STATUS_METHOD_NOT_ALLOWED }, { endStream: true });
      return;
    }
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.respond({ [HTTP2_HEADER_STATUS]: HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE }, { endStream: true });
      return;
    }
    const exchange = new Exchange(stream, headers);
    const path = headers[':path'] ?? '';
    const route = this.routes.get(path);
    if (!route) {
      exchange.finish(status.UNIMPLEMENTED, `unknown method ${path.slice(0, 256)}`);
      return;
    }
    const timeout = headers['grpc-timeout'];
    if (typeof timeout === 'string') {
      try {
        exchange.setDeadline(parseGrpcTimeout(timeout));
      } catch (err) {
        exchange.finish((err as GrpcFramingError).code, (err as Error).message);
        return;
      }
    }
    this.receive(exchange, (message) => {
      let request: unknown;
      try {
        request = route.deserialize(message);
      } catch (err) {
        exchange.finish(status.INTERNAL, `${route.name}: request could not be decoded: ${(err as Error).message}`);
        return;
      }
      try {
        if (route.responseStream) (route.handler as StreamHandler)(new WritableCall(exchange, request, route.serialize));
        else (route.handler as UnaryHandler)(new UnaryCall(exchange, request), (err, value) => this.answer(exchange, route, err, value));
      } catch (err) {
        logger.error({ err, rpc: route.name }, 'CRI handler threw');
        exchange.finish(status.INTERNAL, `${route.name}: ${(err as Error).message}`);
      }
    });
  }

  private answer(exchange: Exchange, route: Route, err: StatusLike | null, value: unknown): void {
    if (err) {
      exchange.finish(err.code ?? status.UNKNOWN, err.details ?? err.message ?? 'unknown error');
      return;
    }
    let bytes: MessageBody;
    try {
      bytes = route.serialize(value);
    } catch (e) {
      exchange.finish(status.INTERNAL, `${route.name}: reply could not be encoded: ${(e as Error).message}`);
      return;
    }
    exchange.sendReply(bytes);
  }

  /** Reads the one request message of a call, then hands it over; any other shape ends the call. */
  private receive(exchange: Exchange, deliver: (message: Buffer) => void): void {
    const { stream } = exchange;
    const reader = new MessageReader(this.maxMessage);
    const messages: FramedMessage[] = [];
    let held = 0;
    const release = (): void => {
      this.buffered -= held;
      held = 0;
    };
    const refuse = (code: number, details: string): void => {
      release();
      stream.off('data', onData);
      exchange.finish(code, details);
      // The rest of the upload is not read: flow control stops the client until it gives up.
      stream.pause();
    };
    const onData = (chunk: Buffer): void => {
      if (exchange.done) return;
      held += chunk.length;
      this.buffered += chunk.length;
      if (this.buffered > this.maxBuffered) {
        refuse(status.RESOURCE_EXHAUSTED, `the server holds ${this.maxBuffered} bytes of requests still arriving; try again`);
        return;
      }
      try {
        for (const message of reader.push(chunk)) messages.push(message);
      } catch (err) {
        const e = err as GrpcFramingError;
        refuse(e.code ?? status.INTERNAL, e.message);
        return;
      }
      if (messages.length > 1) refuse(status.INTERNAL, 'more than one request message for a call that takes one');
    };
    stream.on('data', onData);
    stream.once('close', release);
    stream.once('end', () => {
      release();
      if (exchange.done) return;
      const message = messages[0];
      if (!message || !reader.atBoundary) {
        exchange.finish(status.INTERNAL, message ? 'request ended inside a message' : 'request ended without a message');
        return;
      }
      if (!message.compressed) {
        deliver(message.body);
        return;
      }
      this.decompress(exchange, message.body, deliver);
    });
  }

  private decompress(exchange: Exchange, body: Buffer, deliver: (message: Buffer) => void): void {
    const encoding = exchange.headers['grpc-encoding'];
    const inflate = encoding === 'gzip' ? zlib.gunzip : encoding === 'deflate' ? zlib.inflate : undefined;
    if (!inflate) {
      exchange.finish(status.UNIMPLEMENTED, `request compressed with ${JSON.stringify(String(encoding ?? 'nothing')).slice(0, 64)}, which this server does not read`);
      return;
    }
    inflate(body, { maxOutputLength: this.maxMessage }, (err, plain) => {
      if (exchange.done) return;
      if (err) {
        const over = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        exchange.finish(over ? status.RESOURCE_EXHAUSTED : status.INTERNAL, over ? `request message is over the limit of ${this.maxMessage} bytes once decompressed` : `request could not be decompressed: ${err.message}`);
        return;
      }
      deliver(plain);
    });
  }
}
