/**
 * cricket's gRPC server: the gRPC protocol's unary and server-streaming calls, which are all the
 * CRI has, on cricket's own HTTP/2 connections (http2/connection.ts). It serves the grpc-js
 * service definitions and handlers the rest of server/ builds, on connections the unix listener
 * hands it (listen-unix.ts).
 *
 * The CRI is one client on one socket making small calls all the time (kubelet relists every
 * second): a call here is one routing lookup, one deserialize, the handler, one serialize, and
 * one socket write carrying the answer's headers, message and trailers.
 *
 * Any `:authority` is accepted: kubelet and crictl before Kubernetes 1.31 send the socket path
 * there, which is no authority at all, and the CRI socket has nothing to route by it.
 *
 * Request bodies are bounded per message and, across all calls, by the bytes held while
 * requests arrive, so clients that send slowly or in parallel cannot make the daemon hold
 * unbounded memory.
 */
import type { Socket } from 'node:net';
import zlib from 'node:zlib';
import { status, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { logger } from '../log/logger.js';
import { Deadlines } from './deadlines.js';
import { Exchange, UnaryCall, WritableCall, type ExchangeHost, type StatusLike } from './grpc-call.js';
import { parseGrpcTimeout, type GrpcFramingError, type MessageBody } from './grpc-framing.js';
import { DEFAULT_LIMITS, Http2Connection, type ConnectionLimits } from './http2/connection.js';
import { httpStatusBlock } from './http2/response-headers.js';
import type { ServerStream } from './http2/stream.js';

const HTTP_METHOD_NOT_ALLOWED = 405;
const HTTP_UNSUPPORTED_MEDIA_TYPE = 415;

export interface GrpcServerOptions {
  /** Largest request message, compressed or not (default 16 MiB, as kubelet's own limit). */
  maxReceiveMessageLength?: number;
  /** Request bytes held at once across all calls still receiving (default 256 MiB). */
  maxBufferedRequestBytes?: number;
  /** Calls open at once on one connection (default 1000). */
  maxConcurrentStreams?: number;
  /** Time a client gets to finish the preface or a header block it has started (default 10 s). */
  headerTimeoutMs?: number;
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
  injectConnection(socket: Socket): void;
  destroy(): void;
}

export class GrpcServer implements ExchangeHost<Route | undefined> {
  private readonly routes = new Map<string, Route>();
  private readonly connections = new Set<Http2Connection>();
  private readonly limits: ConnectionLimits;
  readonly maxMessage: number;
  readonly deadlines = new Deadlines<Exchange>();
  readonly maxBuffered: number;
  private buffered = 0;

  constructor(options: GrpcServerOptions = {}) {
    this.maxMessage = options.maxReceiveMessageLength ?? 16 * 1024 * 1024;
    this.maxBuffered = options.maxBufferedRequestBytes ?? 256 * 1024 * 1024;
    this.limits = {
      ...DEFAULT_LIMITS,
      maxConcurrentStreams: options.maxConcurrentStreams ?? DEFAULT_LIMITS.maxConcurrentStreams,
      headerTimeoutMs: options.headerTimeoutMs ?? DEFAULT_LIMITS.headerTimeoutMs,
    };
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
      injectConnection: (socket) => {
        const connection = new Http2Connection(socket, (stream) => this.onStream(stream), this.limits);
        this.connections.add(connection);
        socket.once('close', () => this.connections.delete(connection));
      },
      destroy: () => this.close(),
    };
  }

  /** Ends every connection at once; calls in progress are cut. */
  close(): void {
    for (const connection of this.connections) connection.destroy();
    this.connections.clear();
  }

  hold(bytes: number): boolean {
    this.buffered += bytes;
    return this.buffered <= this.maxBuffered;
  }

  release(bytes: number): void {
    this.buffered -= bytes;
  }

  private onStream(stream: ServerStream): void {
    const headers = stream.headers;
    if (headers.get(':method') !== 'POST') {
      stream.respondAndEnd(httpStatusBlock(HTTP_METHOD_NOT_ALLOWED));
      return;
    }
    const contentType = headers.get('content-type');
    if (contentType === undefined || !contentType.startsWith('application/grpc')) {
      stream.respondAndEnd(httpStatusBlock(HTTP_UNSUPPORTED_MEDIA_TYPE));
      return;
    }
    const path = headers.get(':path') ?? '';
    const exchange = new Exchange(stream, this, this.routes.get(path));
    if (!exchange.route) {
      exchange.finish(status.UNIMPLEMENTED, `unknown method ${path.slice(0, 256)}`);
      return;
    }
    const timeout = headers.get('grpc-timeout');
    if (timeout !== undefined) {
      try {
        exchange.setDeadline(parseGrpcTimeout(timeout));
      } catch (err) {
        exchange.finish((err as GrpcFramingError).code, (err as Error).message);
      }
    }
  }

  received(exchange: Exchange<Route | undefined>, message: Buffer, compressed: boolean): void {
    if (!compressed) {
      this.dispatch(exchange, message);
      return;
    }
    const encoding = exchange.headers.get('grpc-encoding');
    const inflate = encoding === 'gzip' ? zlib.gunzip : encoding === 'deflate' ? zlib.inflate : undefined;
    if (!inflate) {
      exchange.finish(status.UNIMPLEMENTED, `request compressed with ${JSON.stringify(String(encoding ?? 'nothing')).slice(0, 64)}, which this server does not read`);
      return;
    }
    inflate(message, { maxOutputLength: this.maxMessage }, (err, plain) => {
      if (exchange.done) return;
      if (err) {
        const over = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        exchange.finish(over ? status.RESOURCE_EXHAUSTED : status.INTERNAL, over ? `request message is over the limit of ${this.maxMessage} bytes once decompressed` : `request could not be decompressed: ${err.message}`);
        return;
      }
      this.dispatch(exchange, plain);
    });
  }

  /** Decodes the request and runs the method's handler. */
  private dispatch(exchange: Exchange<Route | undefined>, message: Buffer): void {
    const { stream, route } = exchange;
    if (!route) return; // answered UNIMPLEMENTED when the stream opened
    let request: unknown;
    try {
      request = route.deserialize(message);
    } catch (err) {
      exchange.finish(status.INTERNAL, `${route.name}: request could not be decoded: ${(err as Error).message}`);
      return;
    }
    // The call keeps its slot on the connection until its handler is done, even if the
    // client resets it at once: resets cannot start unbounded work.
    stream.working = true;
    try {
      if (route.responseStream) {
        exchange.workEndsWithStream = true;
        (route.handler as StreamHandler)(new WritableCall(exchange, request, route.serialize));
      } else {
        (route.handler as UnaryHandler)(new UnaryCall(exchange, request), (err, value) => {
          stream.workDone();
          this.answer(exchange, route, err, value);
        });
      }
    } catch (err) {
      logger.error({ err, rpc: route.name }, 'CRI handler threw');
      if (!route.responseStream) stream.workDone();
      exchange.finish(status.INTERNAL, `${route.name}: ${(err as Error).message}`);
    }
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
}
