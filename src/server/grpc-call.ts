/**
 * One gRPC call on one HTTP/2 stream: its answer (headers, messages, the status in trailers, or
 * a trailers-only answer), its deadline, and the call objects handlers see. Those expose the part
 * of grpc-js's ServerUnaryCall and ServerWritableStream that cricket's handlers use (request,
 * getPeer, getDeadline, the cancelled/drain/close events, write, end, emit('error')), so the
 * handlers are written against grpc-js's types and served by grpc-server.ts.
 */
import { EventEmitter } from 'node:events';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { Metadata, status } from '@grpc/grpc-js';
import { encodeGrpcMessage, framedChunks, type MessageBody } from './grpc-framing.js';

const { HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE } = http2.constants;

/** What a handler may hand back as an error: grpc-js's ServiceError shape, or any Error. */
export interface StatusLike {
  code?: number;
  details?: string;
  message?: string;
}

const RESPONSE_HEADERS = {
  [HTTP2_HEADER_STATUS]: 200,
  [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
  'grpc-accept-encoding': 'identity,gzip,deflate',
};

/** What the call object hears from its exchange. */
export interface ExchangeListener {
  /** The client went away or the deadline passed before the call was answered. */
  cancelled(): void;
  /** The stream is closed, answered or not. */
  closed(): void;
}

/** The server's side of one call: what is sent, and whether the call is over. */
export class Exchange {
  /** Set once the status is decided; nothing more goes out after it. */
  done = false;
  cancelled = false;
  /** Set once the request is read and the call object made. */
  listener: ExchangeListener | undefined;
  private headersSent = false;
  private trailers: Record<string, string> | null = null;
  private deadlineTimer: NodeJS.Timeout | undefined;
  deadline = Infinity;

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
  ) {
    stream.once('close', () => {
      clearTimeout(this.deadlineTimer);
      if (!this.done) {
        this.done = true;
        this.cancel();
      }
      this.listener?.closed();
    });
  }

  /** Ends the call with DEADLINE_EXCEEDED after `ms` unless it is over by then. */
  setDeadline(ms: number): void {
    this.deadline = Date.now() + ms;
    // Timers above 2^31-1 ms fire at once; such a deadline is as good as none.
    if (ms > 0x7fffffff) return;
    this.deadlineTimer = setTimeout(() => {
      if (this.done) return;
      this.finish(status.DEADLINE_EXCEEDED, 'Deadline exceeded');
      this.cancel();
    }, ms);
  }

  get writable(): boolean {
    return !this.done && !this.stream.destroyed && !this.stream.closed;
  }

  /** Sends one message; false when the stream asks the writer to wait for 'drain'. */
  send(body: MessageBody, callback?: (err?: Error | null) => void): boolean {
    if (!this.writable) {
      if (callback) queueMicrotask(() => callback());
      return true;
    }
    this.respondOnce();
    return this.writeMessage(body, false, callback);
  }

  /** A unary answer: headers, the one message and the OK status leave together. */
  sendReply(body: MessageBody): void {
    if (!this.writable) return;
    this.done = true;
    clearTimeout(this.deadlineTimer);
    this.trailers = { 'grpc-status': '0', 'grpc-message': '' };
    this.respondOnce();
    this.writeMessage(body, true);
  }

  /**
   * One framed message onto the stream, ending it when `end`. A gathered body's chunks are
   * written corked, so that they reach the stream as one write; end() uncorks by itself.
   */
  private writeMessage(body: MessageBody, end: boolean, callback?: (err?: Error | null) => void): boolean {
    const chunks = framedChunks(body);
    const last = chunks.length - 1;
    if (last > 0) this.stream.cork();
    for (let i = 0; i < last; i++) this.stream.write(chunks[i]);
    if (end) {
      this.stream.end(chunks[last], callback);
      return true;
    }
    const ready = this.stream.write(chunks[last], callback);
    if (last > 0) this.stream.uncork();
    return ready;
  }

  /** Ends the call with a status: in trailers after messages, or as a trailers-only answer. */
  finish(code: number, details: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.deadlineTimer);
    if (this.stream.destroyed || this.stream.closed) return;
    const trailers = { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(details) };
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond({ ...RESPONSE_HEADERS, ...trailers }, { endStream: true });
      return;
    }
    this.trailers = trailers;
    this.stream.end();
  }

  private respondOnce(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.once('wantTrailers', () => {
      if (!this.stream.destroyed) this.stream.sendTrailers(this.trailers ?? { 'grpc-status': String(status.INTERNAL), 'grpc-message': 'call ended without a status' });
    });
    this.stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
  }

  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.listener?.cancelled();
  }
}

function peerOf(stream: ServerHttp2Stream): string {
  const socket = stream.session?.socket;
  const address = socket?.remoteAddress;
  return address ? `${address}:${socket.remotePort ?? 0}` : 'unix';
}

/** Fields both call kinds share; the call hears its exchange's cancel and close as events. */
abstract class CallBase<Req> extends EventEmitter {
  private metadataValue: Metadata | undefined;

  constructor(
    protected readonly exchange: Exchange,
    readonly request: Req,
  ) {
    super();
    exchange.listener = { cancelled: () => this.emit('cancelled', 'cancelled'), closed: () => this.emit('close') };
  }

  get cancelled(): boolean {
    return this.exchange.cancelled;
  }

  get metadata(): Metadata {
    this.metadataValue ??= Metadata.fromHttp2Headers(this.exchange.headers);
    return this.metadataValue;
  }

  getPeer(): string {
    return peerOf(this.exchange.stream);
  }

  getDeadline(): number {
    return this.exchange.deadline;
  }

  getHost(): string {
    return String(this.exchange.headers[':authority'] ?? '');
  }

  getPath(): string {
    return String(this.exchange.headers[':path'] ?? '');
  }
}

/** A unary call as its handler sees it; the reply goes through the handler's callback. */
export class UnaryCall<Req> extends CallBase<Req> {}

/** A server-streaming call: the handler writes messages, then ends or fails the call. */
export class WritableCall<Req, Res> extends CallBase<Req> {
  constructor(
    exchange: Exchange,
    request: Req,
    private readonly serialize: (value: Res) => MessageBody,
  ) {
    super(exchange, request);
    exchange.stream.on('drain', () => this.emit('drain'));
  }

  write(message: Res, callback?: (err?: Error | null) => void): boolean {
    return this.exchange.send(this.serialize(message), callback);
  }

  end(): void {
    this.exchange.finish(status.OK, '');
  }

  /** A handler fails the call by emitting 'error' with a status, as with grpc-js. */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'error') return super.emit(event, ...args);
    const error = args[0] as StatusLike | undefined;
    this.exchange.finish(error?.code ?? status.UNKNOWN, error?.details ?? error?.message ?? 'unknown error');
    return this.listenerCount('error') > 0 ? super.emit(event, ...args) : false;
  }
}
