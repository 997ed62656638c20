/**
 * One client-initiated HTTP/2 stream as the gRPC layer sees it: the request's headers and body
 * coming in, and the answer (headers, data, trailers) going out under flow control. The
 * connection (connection.ts) owns the frames; this object holds the stream's state.
 */
import type { RequestHeaders } from './header-block.js';

/** Queued answer bytes above which write() asks the writer to wait for streamDrained. */
export const STREAM_HIGH_WATER = 64 * 1024;

/** What a stream asks of its connection (connection.ts), which owns the frames. */
export interface StreamOwner {
  readonly peer: string;
  /** False while the socket holds more unread answers than the connection lets pile up. */
  readonly socketReady: boolean;
  sendHeaders(stream: ServerStream, block: Buffer | null, endStream: boolean): void;
  /** `bytes` more of body were queued on `stream`. */
  queued(stream: ServerStream, bytes: number): void;
  flushStream(stream: ServerStream): void;
  /** A whole unary answer whose body is `head` then `parts`, in one socket write when the windows allow. */
  reply(stream: ServerStream, head: Uint8Array, parts: readonly Uint8Array[], trailers: Buffer): void;
  released(stream: ServerStream): void;
}

interface QueuedCallback {
  /** Total bytes queued on this stream once the callback's write was queued. */
  upTo: number;
  callback: (err?: Error | null) => void;
}

/** Whoever serves a stream hears its events here (the gRPC layer's call exchange). */
export interface StreamListener {
  /** A chunk of the request body. */
  streamData(chunk: Buffer): void;
  /** The request body is complete. */
  streamEnd(): void;
  /** The stream is over: answered and read, reset by either side, or its connection gone. */
  streamClosed(): void;
  /** write() said to wait, and the backlog is gone. */
  streamDrained(): void;
}

export class ServerStream {
  listener: StreamListener | null = null;

  /** Bytes the client lets us send on this stream. */
  sendWindow: number;
  /** Bytes the client may still send before we grant more. */
  recvWindow: number;
  recvUnacked = 0;
  /** False once the server stops reading the body: no more window is granted. */
  receiving = true;
  remoteEnded = false;
  localEnded = false;
  closed = false;
  /** A handler still runs for this stream: it keeps its slot after the stream closes. */
  working = false;
  headersSent = false;
  waitingDrain = false;

  /** Answer bytes not yet framed: whole chunks, the first one from `headOffset`. */
  readonly queue: Uint8Array[] = [];
  headOffset = 0;
  queuedBytes = 0;
  /** Bytes ever queued and ever framed, to know when a write's callback is due. */
  queuedTotal = 0;
  sentTotal = 0;
  readonly callbacks: QueuedCallback[] = [];
  /** The status block, sent with END_STREAM once the queue is empty. */
  pendingTrailers: Buffer | null = null;

  constructor(
    private readonly connection: StreamOwner,
    readonly id: number,
    readonly headers: RequestHeaders,
    /** The headers' decoded size (RFC 7541), held against the connection's bound. */
    readonly headerSize: number,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Whether an answer may still go out. */
  get writable(): boolean {
    return !this.localEnded && !this.closed;
  }

  get peer(): string {
    return this.connection.peer;
  }

  /** Sends the answer's head (status 200, gRPC content type). */
  respond(): void {
    if (!this.writable || this.headersSent) return;
    this.headersSent = true;
    this.connection.sendHeaders(this, null, false);
  }

  /** Queues body chunks; false when the writer should wait for streamDrained. */
  write(chunks: readonly Uint8Array[], callback?: (err?: Error | null) => void): boolean {
    if (!this.writable) {
      if (callback) queueMicrotask(() => callback());
      return true;
    }
    let added = 0;
    for (const chunk of chunks) {
      if (chunk.length === 0) continue;
      this.queue.push(chunk);
      added += chunk.length;
    }
    this.queuedBytes += added;
    this.queuedTotal += added;
    if (callback) this.callbacks.push({ upTo: this.queuedTotal, callback });
    this.connection.queued(this, added);
    const ready = this.queuedBytes < STREAM_HIGH_WATER && this.connection.socketReady;
    if (!ready) this.waitingDrain = true;
    return ready;
  }

  /** Ends the answer with `trailers` after whatever body is still queued. */
  end(trailers: Buffer): void {
    if (!this.writable || this.pendingTrailers) return;
    this.pendingTrailers = trailers;
    this.connection.flushStream(this);
  }

  /** A whole unary answer: head, body and trailers leave in one write when the window allows. */
  reply(head: Uint8Array, parts: readonly Uint8Array[], trailers: Buffer): void {
    if (!this.writable) return;
    this.connection.reply(this, head, parts, trailers);
  }

  /** An answer that is a single header block ending the stream (trailers-only, or an HTTP refusal). */
  respondAndEnd(block: Buffer): void {
    if (!this.writable || this.headersSent) return;
    this.headersSent = true;
    this.connection.sendHeaders(this, block, true);
  }

  /** The rest of the request body is not wanted: its window is no longer replenished. */
  stopReceiving(): void {
    this.receiving = false;
  }

  /** The handler is done with the stream; its slot frees once the stream is closed too. */
  workDone(): void {
    if (!this.working) return;
    this.working = false;
    this.connection.released(this);
  }
}
