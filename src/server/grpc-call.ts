/**
 * One gRPC call on one HTTP/2 stream: its request message read off the stream, its answer (headers, messages, the status in trailers, or
 * a trailers-only answer), its deadline, and the call objects handlers see. Those expose the part
 * of grpc-js's ServerUnaryCall and ServerWritableStream that cricket's handlers use (request,
 * getPeer, getDeadline, the cancelled/drain/close events, write, end, emit('error')), so the
 * handlers are written against grpc-js's types and served by grpc-server.ts.
 */
import { EventEmitter } from 'node:events';
import { Metadata, status } from '@grpc/grpc-js';
import type { Deadlines, Expiring } from './deadlines.js';
import { encodeGrpcMessage, framedChunks, framedParts, MessageReader, type GrpcFramingError, type MessageBody, type MessageSink } from './grpc-framing.js';
import type { RequestHeaders } from './http2/header-block.js';
import { OK_TRAILERS, trailersBlock, trailersOnlyBlock } from './http2/response-headers.js';
import type { ServerStream, StreamListener } from './http2/stream.js';

/** What a handler may hand back as an error: grpc-js's ServiceError shape, or any Error. */
export interface StatusLike {
  code?: number;
  details?: string;
  message?: string;
}

/** What the call object hears from its exchange. */
export interface ExchangeListener {
  /** The client went away or the deadline passed before the call was answered. */
  callCancelled(): void;
  /** The stream is closed, answered or not. */
  callClosed(): void;
  /** A write that said to wait may go on. */
  callDrained(): void;
}

/** What an exchange needs of its server. */
export interface ExchangeHost<R = unknown> {
  readonly maxMessage: number;
  /** Request bytes held at once across all calls still receiving. */
  readonly maxBuffered: number;
  readonly deadlines: Deadlines<Exchange>;
  /** Counts `bytes` more request bytes held across all calls; false once over the bound. */
  hold(bytes: number): boolean;
  release(bytes: number): void;
  /** The call's one request message, whole, as it came (`compressed` per its flag). */
  received(exchange: Exchange<R>, message: Buffer, compressed: boolean): void;
}

/**
 * The server's side of one call: the request read off its stream, what is sent, and whether the
 * call is over. It listens to the stream itself, so a call costs no closures of its own. `route`
 * is what the host found for the call's path when the stream opened, kept for its dispatch.
 */
export class Exchange<R = unknown> implements StreamListener, MessageSink, Expiring {
  /** Set once the status is decided; nothing more goes out after it. */
  done = false;
  cancelled = false;
  /** Set once the request is read and the call object made. */
  listener: ExchangeListener | undefined;
  /** A server-streaming call's handler is done when its stream closes. */
  workEndsWithStream = false;
  deadline = Infinity;
  deadlineSlot = -1;
  private readonly reader: MessageReader;
  /** The request message, once read whole. */
  private body: Buffer | null = null;
  private bodyCompressed = false;
  /** Request bytes this call holds against the server's bound. */
  private held = 0;

  constructor(
    readonly stream: ServerStream,
    private readonly host: ExchangeHost<R>,
    readonly route: R,
  ) {
    this.reader = new MessageReader(host.maxMessage);
    stream.listener = this;
  }

  get headers(): RequestHeaders {
    return this.stream.headers;
  }

  /** Ends the call with DEADLINE_EXCEEDED after `ms` unless it is over by then. */
  setDeadline(ms: number): void {
    // Timers above 2^31-1 ms fire at once; such a deadline is as good as none.
    if (ms > 0x7fffffff) return;
    this.deadline = Date.now() + ms;
    this.host.deadlines.add(this);
  }

  expire(): void {
    if (this.done) return;
    this.finish(status.DEADLINE_EXCEEDED, 'Deadline exceeded');
    this.cancel();
  }

  streamData(chunk: Buffer): void {
    if (this.done) return;
    this.held += chunk.length;
    if (!this.host.hold(chunk.length)) {
      this.refuse(status.RESOURCE_EXHAUSTED, `the server holds ${this.host.maxBuffered} bytes of requests still arriving; try again`);
      return;
    }
    try {
      this.reader.push(chunk, this);
    } catch (err) {
      const e = err as GrpcFramingError;
      this.refuse(e.code ?? status.INTERNAL, e.message);
    }
  }

  message(body: Buffer, compressed: boolean): void {
    if (this.done) return;
    if (this.body) {
      this.refuse(status.INTERNAL, 'more than one request message for a call that takes one');
      return;
    }
    this.body = body;
    this.bodyCompressed = compressed;
  }

  streamEnd(): void {
    this.releaseHeld();
    if (this.done) return;
    const body = this.body;
    if (!body || !this.reader.atBoundary) {
      this.finish(status.INTERNAL, body ? 'request ended inside a message' : 'request ended without a message');
      return;
    }
    this.host.received(this, body, this.bodyCompressed);
  }

  streamClosed(): void {
    this.host.deadlines.remove(this);
    if (!this.done) {
      this.done = true;
      this.cancel();
    }
    this.releaseHeld();
    if (this.workEndsWithStream) this.stream.workDone();
    this.listener?.callClosed();
  }

  streamDrained(): void {
    this.listener?.callDrained();
  }

  get writable(): boolean {
    return !this.done && this.stream.writable;
  }

  /** Sends one message; false when the writer should wait for a drain. */
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
    this.host.deadlines.remove(this);
    const { head, parts } = framedParts(body);
    this.stream.reply(head, parts, OK_TRAILERS);
  }

  /** Ends the call with a status: in trailers after messages, or as a trailers-only answer. */
  finish(code: number, details: string): void {
    if (this.done) return;
    this.done = true;
    this.host.deadlines.remove(this);
    if (!this.stream.writable) return;
    const message = encodeGrpcMessage(details);
    if (!this.stream.headersSent) this.stream.respondAndEnd(trailersOnlyBlock(code, message));
    else this.stream.end(trailersBlock(code, message));
  }

  /** The rest of the request is not read: its bytes are let go and its window not replenished. */
  private refuse(code: number, details: string): void {
    this.releaseHeld();
    this.stream.stopReceiving();
    this.finish(code, details);
  }

  private releaseHeld(): void {
    this.host.release(this.held);
    this.held = 0;
  }

  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.listener?.callCancelled();
  }
}

type Listener = (...args: unknown[]) => void;

/**
 * Fields both call kinds share; the call hears its exchange's cancel, close and drain as events.
 * Its event emitter is made on the first listener: a unary handler seldom listens, and an
 * emitter per call is garbage the status calls kubelet makes every second would not need.
 */
abstract class CallBase<Req> implements ExchangeListener {
  private metadataValue: Metadata | undefined;
  private emitter: EventEmitter | undefined;

  constructor(
    protected readonly exchange: Exchange,
    readonly request: Req,
  ) {
    exchange.listener = this;
  }

  callCancelled(): void {
    this.emitter?.emit('cancelled', 'cancelled');
  }

  callClosed(): void {
    this.emitter?.emit('close');
  }

  callDrained(): void {
    this.emitter?.emit('drain');
  }

  on(event: string, listener: Listener): this {
    this.events().on(event, listener);
    return this;
  }

  once(event: string, listener: Listener): this {
    this.events().once(event, listener);
    return this;
  }

  off(event: string, listener: Listener): this {
    this.emitter?.off(event, listener);
    return this;
  }

  removeListener(event: string, listener: Listener): this {
    return this.off(event, listener);
  }

  listenerCount(event: string): number {
    return this.emitter?.listenerCount(event) ?? 0;
  }

  emit(event: string, ...args: unknown[]): boolean {
    // As an EventEmitter would, an 'error' nobody listens for is thrown.
    if (!this.emitter && event === 'error') throw args[0];
    return this.emitter?.emit(event, ...args) ?? false;
  }

  private events(): EventEmitter {
    this.emitter ??= new EventEmitter();
    return this.emitter;
  }

  get cancelled(): boolean {
    return this.exchange.cancelled;
  }

  get metadata(): Metadata {
    this.metadataValue ??= Metadata.fromHttp2Headers(this.exchange.headers.toRecord());
    return this.metadataValue;
  }

  getPeer(): string {
    return this.exchange.stream.peer;
  }

  getDeadline(): number {
    return this.exchange.deadline;
  }

  getHost(): string {
    return this.exchange.headers.get(':authority') ?? '';
  }

  getPath(): string {
    return this.exchange.headers.get(':path') ?? '';
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
  }

  write(message: Res, callback?: (err?: Error | null) => void): boolean {
    return this.exchange.send(this.serialize(message), callback);
  }

  end(): void {
    this.exchange.finish(status.OK, '');
  }

  /** A handler fails the call by emitting 'error' with a status, as with grpc-js. */
  override emit(event: string, ...args: unknown[]): boolean {
    if (event !== 'error') return super.emit(event, ...args);
    const error = args[0] as StatusLike | undefined;
    this.exchange.finish(error?.code ?? status.UNKNOWN, error?.details ?? error?.message ?? 'unknown error');
    return this.listenerCount('error') > 0 ? super.emit(event, ...args) : false;
  }
}
