/**
 * One gRPC call on one HTTP/2 stream: its answer (headers, messages, the status in trailers, or
 * a trailers-only answer), its deadline, and the call objects handlers see. Those expose the part
 * of grpc-js's ServerUnaryCall and ServerWritableStream that cricket's handlers use (request,
 * getPeer, getDeadline, the cancelled/drain/close events, write, end, emit('error')), so the
 * handlers are written against grpc-js's types and served by grpc-server.ts.
 */
import { EventEmitter } from 'node:events';
import { Metadata, status } from '@grpc/grpc-js';
import { encodeGrpcMessage, framedChunks, type MessageBody } from './grpc-framing.js';
import type { RequestHeaders } from './http2/header-block.js';
import { OK_TRAILERS, trailersBlock, trailersOnlyBlock } from './http2/response-headers.js';
import type { ServerStream } from './http2/stream.js';

/** What a handler may hand back as an error: grpc-js's ServiceError shape, or any Error. */
export interface StatusLike {
  code?: number;
  details?: string;
  message?: string;
}

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
  /** The server's own clean-up when the stream closes (request bytes held, the call's slot). */
  afterClose: (() => void) | null = null;
  private deadlineTimer: NodeJS.Timeout | undefined;
  deadline = Infinity;

  constructor(readonly stream: ServerStream) {
    stream.onClose = () => {
      clearTimeout(this.deadlineTimer);
      if (!this.done) {
        this.done = true;
        this.cancel();
      }
      this.afterClose?.();
      this.listener?.closed();
    };
  }

  get headers(): RequestHeaders {
    return this.stream.headers;
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
    return !this.done && this.stream.writable;
  }

  /** Sends one message; false when the writer should wait for 'drain'. */
  send(body: MessageBody, callback?: (err?: Error | null) => void): boolean {
    if (!this.writable) {
      if (callback) queueMicrotask(() => callback());
      return true;
    }
    this.stream.respond();
    return this.stream.write(framedChunks(body), callback);
  }

  /** A unary answer: headers, the one message and the OK status leave together. */
  sendReply(body: MessageBody): void {
    if (!this.writable) return;
    this.done = true;
    clearTimeout(this.deadlineTimer);
    this.stream.reply(framedChunks(body), OK_TRAILERS);
  }

  /** Ends the call with a status: in trailers after messages, or as a trailers-only answer. */
  finish(code: number, details: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.deadlineTimer);
    if (!this.stream.writable) return;
    const message = encodeGrpcMessage(details);
    if (!this.stream.headersSent) this.stream.respondAndEnd(trailersOnlyBlock(code, message));
    else this.stream.end(trailersBlock(code, message));
  }

  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.listener?.cancelled();
  }
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
    return this.exchange.stream.peer;
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
    exchange.stream.onDrain = () => this.emit('drain');
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
