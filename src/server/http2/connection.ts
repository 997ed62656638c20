/**
 * The server side of one HTTP/2 connection (RFC 9113) carrying gRPC calls: frames in, streams
 * handed to the gRPC layer, answers out under the client's flow control.
 *
 * It is written for the CRI socket: one local client making many small unary calls. An answer
 * (head, body, trailers) leaves in one socket write, and a call costs one stream object.
 *
 * Everything a client sends is untrusted, so what one connection can make the daemon hold or do
 * is bounded: frame size, header block size and frame count, decoded header list, time to finish
 * the preface or a header block, calls at once (counting calls whose client reset them but whose
 * handler still runs), answer bytes waiting for the client's window, and the reading of new
 * frames while the client does not read our answers.
 */
import type { Socket } from 'node:net';
import { logger } from '../../log/logger.js';
import {
  ConnectionError,
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  FrameType,
  MAX_FRAME_LIMIT,
  MAX_WINDOW,
  SETTINGS_ACK,
  Setting,
  goawayFrame,
  settingsFrame,
} from './frames.js';
import { FrameReader, type Frame } from './frame-reader.js';
import { HeaderDecoder, MAX_HEADER_LIST, MAX_OPEN_HEADER_BYTES, PendingBlock } from './header-block.js';
import { RESPONSE_HEADERS } from './response-headers.js';
import { ServerStream, type StreamOwner } from './stream.js';
import { StreamTable } from './stream-table.js';
import { FrameOutput } from './frame-output.js';

export interface ConnectionLimits {
  /** Calls open at once, including reset calls whose handler still runs. */
  maxConcurrentStreams: number;
  /** Time to finish the preface or a header block once started. */
  headerTimeoutMs: number;
  /** Answer bytes waiting for the client's flow-control window, all streams together. */
  maxQueuedBytes: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  maxConcurrentStreams: 1000,
  headerTimeoutMs: 10_000,
  maxQueuedBytes: 128 * 1024 * 1024,
};

const enum StreamEvent {
  DATA,
  END,
  CLOSED,
  DRAINED,
}

/** Frames we accept: the protocol's minimum maximum, which we never raise. */
const MAX_FRAME = DEFAULT_MAX_FRAME;
/** Receive windows we grant: per stream, and for the connection. */
const STREAM_WINDOW = 1 << 20;
const CONNECTION_WINDOW = 16 << 20;
/** Unread answer bytes in the socket above which we stop reading the client. */
const SOCKET_HIGH_WATER = 4 << 20;
/** Time a connection that ended with GOAWAY gets to close before it is cut. */
const CLOSE_GRACE_MS = 2000;

export class Http2Connection implements StreamOwner {
  private readonly reader = new FrameReader(MAX_FRAME, (f) => this.onFrame(f));
  private readonly decoder = new HeaderDecoder();
  private readonly streams = new StreamTable();
  /** Closed streams whose handler still runs. */
  private orphans = 0;
  /** Decoded header bytes the open streams hold. */
  private headerBytes = 0;
  private lastStreamId = 0;
  private pendingBlock: PendingBlock | null = null;
  private headerTimer: NodeJS.Timeout | null = null;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private sendWindow = DEFAULT_WINDOW;
  private recvWindow = CONNECTION_WINDOW;
  private recvUnacked = 0;
  /** Streams with body bytes waiting for window. */
  private readonly blocked = new Set<ServerStream>();
  private queuedBytes = 0;
  private readonly output = new FrameOutput();
  /** While set, frames gather in `output` and are written once at the end. */
  private batching = 0;
  private goingAway = false;
  private ending = false;
  private destroyed = false;
  readonly peer: string;

  constructor(
    private readonly socket: Socket,
    private readonly onStream: (stream: ServerStream) => void,
    private readonly limits: ConnectionLimits = DEFAULT_LIMITS,
  ) {
    this.peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort ?? 0}` : 'unix';
    socket.setNoDelay?.(true);
    this.output.bytes(
      settingsFrame([
        [Setting.MAX_CONCURRENT_STREAMS, limits.maxConcurrentStreams],
        [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW],
        [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST],
      ]),
    );
    this.u32Frame(FrameType.WINDOW_UPDATE, 0, CONNECTION_WINDOW - DEFAULT_WINDOW);
    this.flushOut();
    this.watchHeaderTime();
    socket.on('data', (chunk: Buffer) => this.onChunk(chunk));
    socket.on('drain', () => this.onSocketDrain());
    socket.on('error', (err) => logger.debug({ err }, 'CRI connection error'));
    socket.on('close', () => this.destroy());
  }

  /** False while the socket holds more unread answers than we let pile up. */
  get socketReady(): boolean {
    return this.socket.writableLength < SOCKET_HIGH_WATER;
  }

  /** Cuts the connection and every call on it. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.headerTimer) clearTimeout(this.headerTimer);
    this.headerTimer = null;
    const open = this.streams.snapshot();
    this.streams.clear();
    this.blocked.clear();
    for (const stream of open) this.closeStream(stream, false);
    this.socket.destroy();
  }

  // ---- input ----

  private onChunk(chunk: Buffer): void {
    if (this.destroyed) return;
    this.batching++;
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.batching--;
      this.fail(err);
      return;
    }
    this.batching--;
    this.flushOut();
    this.watchHeaderTime();
    if (!this.socketReady) this.socket.pause();
  }

  private onSocketDrain(): void {
    if (this.destroyed) return;
    if (this.socket.isPaused()) this.socket.resume();
    for (const stream of this.streams.snapshot()) this.maybeDrain(stream);
  }

  private onFrame(f: Frame): void {
    if (this.destroyed) return;
    const block = this.pendingBlock;
    if (block && (f.type !== FrameType.CONTINUATION || f.streamId !== block.streamId)) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `expected CONTINUATION on stream ${block.streamId}, got frame type ${f.type}`);
    }
    switch (f.type) {
      case FrameType.DATA:
        return this.onData(f);
      case FrameType.HEADERS:
        return this.onHeaders(f);
      case FrameType.CONTINUATION:
        if (!block) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `CONTINUATION without HEADERS on stream ${f.streamId}`);
        block.add(f.payload, f.payload.length);
        if (f.flags & Flag.END_HEADERS) {
          this.pendingBlock = null;
          this.finishBlock(block.streamId, block.endStream, block.bytes());
        }
        return;
      case FrameType.PRIORITY:
        if (f.streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        return; // priorities do not change the order of our answers
      case FrameType.RST_STREAM:
        return this.onReset(f);
      case FrameType.SETTINGS:
        return this.onSettings(f);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'a client may not push');
      case FrameType.PING:
        if (f.streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `PING on stream ${f.streamId}`);
        if (f.payload.length !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `PING of ${f.payload.length} bytes`);
        if (!(f.flags & Flag.ACK)) {
          this.output.header(8, FrameType.PING, Flag.ACK, 0);
          this.output.bytes(f.payload);
        }
        return;
      case FrameType.GOAWAY:
        if (f.streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `GOAWAY on stream ${f.streamId}`);
        this.goingAway = true;
        this.endIfIdle();
        return;
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(f);
      default:
        return; // unknown frame types are ignored (RFC 9113 4.1)
    }
  }

  private onHeaders(f: Frame): void {
    if (f.streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    const { payload, flags } = f;
    let start = 0;
    let stop = payload.length;
    if (flags & Flag.PADDED) {
      if (stop < 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PADDED HEADERS frame without pad length');
      stop -= payload[0]!;
      start = 1;
    }
    if (flags & Flag.PRIORITY) start += 5;
    if (stop < start) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS frame on stream ${f.streamId} too short for its padding and priority`);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const fragment = start === 0 && stop === payload.length ? payload : payload.subarray(start, stop);
    // A whole block in one frame (every gRPC request) is decoded where it lies.
    if (flags & Flag.END_HEADERS) return this.finishBlock(f.streamId, endStream, fragment);
    const block = new PendingBlock(f.streamId, endStream);
    block.add(fragment, payload.length);
    this.pendingBlock = block;
  }

  private finishBlock(id: number, endStream: boolean, bytes: Buffer): void {
    // Decoded whatever becomes of the stream: the client's encoder already counted it.
    const { headers, size, fieldError } = this.decoder.decode(bytes);
    const existing = this.streams.get(id);
    if (existing) {
      // Trailers of a request: gRPC has none to read, but they end the body.
      if (!endStream || existing.remoteEnded) this.resetStream(existing, ErrorCode.PROTOCOL_ERROR);
      else this.remoteEnd(existing);
      return;
    }
    if (id % 2 === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `client opened even stream ${id}`);
    if (id <= this.lastStreamId) throw new ConnectionError(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
    this.lastStreamId = id;
    if (this.goingAway) return;
    if (fieldError || headers.get(':method') === undefined || headers.get(':path') === undefined || headers.get(':scheme') === undefined) {
      logger.debug({ stream: id, reason: fieldError ?? 'missing pseudo-headers' }, 'CRI request with malformed headers refused');
      this.u32Frame(FrameType.RST_STREAM, id, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (this.streams.size + this.orphans >= this.limits.maxConcurrentStreams || this.headerBytes + size > MAX_OPEN_HEADER_BYTES) {
      this.u32Frame(FrameType.RST_STREAM, id, ErrorCode.REFUSED_STREAM);
      return;
    }
    const stream = new ServerStream(this, id, headers, size, this.peerInitialWindow, STREAM_WINDOW);
    this.headerBytes += size;
    this.streams.add(stream);
    try {
      this.onStream(stream);
    } catch (err) {
      this.failStream(stream, err);
    }
    if (endStream && !stream.closed) this.remoteEnd(stream);
  }

  private onData(f: Frame): void {
    if (f.streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    const length = f.payload.length;
    this.recvWindow -= length;
    if (this.recvWindow < 0) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'client sent past the connection window');
    this.recvUnacked += length;
    if (this.recvUnacked >= CONNECTION_WINDOW / 2) {
      this.u32Frame(FrameType.WINDOW_UPDATE, 0, this.recvUnacked);
      this.recvWindow += this.recvUnacked;
      this.recvUnacked = 0;
    }
    let data = f.payload;
    if (f.flags & Flag.PADDED) {
      const pad = length > 0 ? data[0]! : 0;
      if (length < 1 || pad >= length) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA frame on stream ${f.streamId} too short for its padding`);
      data = data.subarray(1, length - pad);
    }
    const stream = this.streams.get(f.streamId);
    if (!stream) {
      if (f.streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${f.streamId}`);
      return; // a stream we already closed: the bytes only count against the window
    }
    if (stream.remoteEnded) {
      this.resetStream(stream, ErrorCode.STREAM_CLOSED);
      return;
    }
    stream.recvWindow -= length;
    if (stream.recvWindow < 0) {
      this.resetStream(stream, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    if (stream.receiving) {
      if (data.length > 0) this.tell(stream, StreamEvent.DATA, data);
      stream.recvUnacked += length;
      if (stream.receiving && !stream.closed && stream.recvUnacked >= STREAM_WINDOW / 2) {
        this.u32Frame(FrameType.WINDOW_UPDATE, stream.id, stream.recvUnacked);
        stream.recvWindow += stream.recvUnacked;
        stream.recvUnacked = 0;
      }
    }
    if (f.flags & Flag.END_STREAM && !stream.closed) this.remoteEnd(stream);
  }

  private onReset(f: Frame): void {
    if (f.streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (f.payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `RST_STREAM of ${f.payload.length} bytes`);
    if (f.streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${f.streamId}`);
    const stream = this.streams.get(f.streamId);
    if (stream) this.closeStream(stream, true);
  }

  private onSettings(f: Frame): void {
    if (f.streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS on stream ${f.streamId}`);
    if (f.flags & Flag.ACK) {
      if (f.payload.length !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (f.payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `SETTINGS of ${f.payload.length} bytes`);
    for (let at = 0; at < f.payload.length; at += 6) {
      const id = f.payload.readUInt16BE(at);
      const value = f.payload.readUInt32BE(at + 2);
      if (id === Setting.ENABLE_PUSH && value > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `ENABLE_PUSH ${value}`);
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `INITIAL_WINDOW_SIZE ${value}`);
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of this.streams.snapshot()) {
          stream.sendWindow += delta;
          if (stream.sendWindow > MAX_WINDOW) this.resetStream(stream, ErrorCode.FLOW_CONTROL_ERROR);
        }
      }
      if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME || value > MAX_FRAME_LIMIT) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${value}`);
        this.peerMaxFrame = value;
      }
    }
    this.output.bytes(SETTINGS_ACK);
    this.flushBlocked();
  }

  private onWindowUpdate(f: Frame): void {
    if (f.payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `WINDOW_UPDATE of ${f.payload.length} bytes`);
    const increment = f.payload.readUInt32BE(0) & MAX_WINDOW;
    if (f.streamId === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0 on the connection');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window over 2^31-1');
      this.flushBlocked();
      return;
    }
    const stream = this.streams.get(f.streamId);
    if (!stream) {
      if (f.streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${f.streamId}`);
      return;
    }
    if (increment === 0) {
      this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) {
      this.resetStream(stream, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    this.flushStream(stream);
  }

  // ---- stream life ----

  private remoteEnd(stream: ServerStream): void {
    stream.remoteEnded = true;
    this.tell(stream, StreamEvent.END);
    if (stream.localEnded) this.closeStream(stream, false);
  }

  /** Ends a stream with RST_STREAM: a stream error, or the client no longer needs to send. */
  private resetStream(stream: ServerStream, code: number): void {
    if (stream.closed) return;
    this.u32Frame(FrameType.RST_STREAM, stream.id, code);
    this.closeStream(stream, true);
    this.flushLater();
  }

  private closeStream(stream: ServerStream, reset: boolean): void {
    if (stream.closed) return;
    stream.closed = true;
    if (reset) this.dropQueue(stream);
    this.streams.delete(stream.id);
    this.headerBytes -= stream.headerSize;
    this.blocked.delete(stream);
    if (stream.working) this.orphans++;
    this.tell(stream, StreamEvent.CLOSED);
    this.endIfIdle();
  }

  /** Called by a stream whose handler finished after the stream closed. */
  released(stream: ServerStream): void {
    if (stream.closed) this.orphans--;
  }

  private dropQueue(stream: ServerStream): void {
    this.queuedBytes -= stream.queuedBytes;
    stream.queue.length = 0;
    stream.queuedBytes = 0;
    stream.headOffset = 0;
    stream.pendingTrailers = null;
    const callbacks = stream.callbacks.splice(0);
    for (const { callback } of callbacks) queueMicrotask(() => callback());
  }

  private endIfIdle(): void {
    if (!this.goingAway || this.streams.size > 0) return;
    this.end();
  }

  /** Ends the socket once what is queued is written; cuts it if the client does not close too. */
  private end(): void {
    if (this.ending || this.destroyed) return;
    this.ending = true;
    this.flushOut();
    this.socket.end();
    setTimeout(() => this.destroy(), CLOSE_GRACE_MS).unref();
  }

  /**
   * Tells the gRPC layer of one stream's event: a failure there ends that stream with
   * INTERNAL_ERROR, never the connection with the other calls on it.
   */
  private tell(stream: ServerStream, event: StreamEvent, chunk?: Buffer): void {
    const listener = stream.listener;
    if (!listener) return;
    try {
      if (event === StreamEvent.DATA) listener.streamData(chunk!);
      else if (event === StreamEvent.END) listener.streamEnd();
      else if (event === StreamEvent.CLOSED) listener.streamClosed();
      else listener.streamDrained();
    } catch (err) {
      this.failStream(stream, err);
    }
  }

  private failStream(stream: ServerStream, err: unknown): void {
    logger.error({ err, stream: stream.id }, 'CRI call failed inside the server');
    this.resetStream(stream, ErrorCode.INTERNAL_ERROR);
  }

  // ---- output ----

  /**
   * A whole unary answer: headers, body (`head` then `parts`) and trailers. When the windows
   * take the whole body (every status and list answer), its frames go straight out, never
   * queued; otherwise it is queued like any body. Inside a read, the frames wait for the read's
   * own write.
   */
  reply(stream: ServerStream, head: Uint8Array, parts: readonly Uint8Array[], trailers: Buffer): void {
    let length = head.length;
    for (const part of parts) length += part.length;
    const room = Math.min(stream.sendWindow, this.sendWindow);
    if (stream.headersSent || stream.queuedBytes > 0 || stream.pendingTrailers || length > room || this.destroyed) {
      this.batching++;
      try {
        stream.respond();
        stream.write([head, ...parts]);
        stream.end(trailers);
      } finally {
        this.batching--;
      }
      this.flushLater();
      return;
    }
    stream.headersSent = true;
    this.pushHeaderFrames(stream.id, RESPONSE_HEADERS, false);
    if (length > 0) {
      this.dataFrames(stream.id, head, parts, length);
      stream.sendWindow -= length;
      this.sendWindow -= length;
      stream.queuedTotal += length;
      stream.sentTotal += length;
    }
    this.pushHeaderFrames(stream.id, trailers, true);
    this.localEnd(stream);
    this.flushLater();
  }

  sendHeaders(stream: ServerStream, block: Buffer | null, endStream: boolean): void {
    this.pushHeaderFrames(stream.id, block ?? RESPONSE_HEADERS, endStream);
    if (endStream) this.localEnd(stream);
    this.flushLater();
  }

  /** Body bytes were queued on `stream`: frame what the windows allow. */
  queued(stream: ServerStream, bytes: number): void {
    this.queuedBytes += bytes;
    if (this.queuedBytes > this.limits.maxQueuedBytes) {
      this.fail(new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `more than ${this.limits.maxQueuedBytes} answer bytes wait for the client to read them`));
      return;
    }
    this.flushStream(stream);
  }

  flushStream(stream: ServerStream): void {
    if (stream.closed || this.destroyed) return;
    while (stream.queuedBytes > 0) {
      const room = Math.min(stream.sendWindow, this.sendWindow, this.peerMaxFrame, stream.queuedBytes);
      if (room <= 0) {
        this.blocked.add(stream);
        this.flushLater();
        return;
      }
      this.output.header(room, FrameType.DATA, 0, stream.id);
      let left = room;
      while (left > 0) {
        const head = stream.queue[0]!;
        const available = head.length - stream.headOffset;
        if (available <= left) {
          this.output.bytes(stream.headOffset === 0 ? head : head.subarray(stream.headOffset));
          stream.queue.shift();
          stream.headOffset = 0;
          left -= available;
        } else {
          this.output.bytes(head.subarray(stream.headOffset, stream.headOffset + left));
          stream.headOffset += left;
          left = 0;
        }
      }
      stream.sendWindow -= room;
      this.sendWindow -= room;
      stream.queuedBytes -= room;
      this.queuedBytes -= room;
      stream.sentTotal += room;
    }
    this.blocked.delete(stream);
    while (stream.callbacks.length > 0 && stream.callbacks[0]!.upTo <= stream.sentTotal) {
      const { callback } = stream.callbacks.shift()!;
      queueMicrotask(() => callback());
    }
    const trailers = stream.pendingTrailers;
    if (trailers) {
      stream.pendingTrailers = null;
      this.pushHeaderFrames(stream.id, trailers, true);
      this.localEnd(stream);
    } else {
      this.maybeDrain(stream);
    }
    this.flushLater();
  }

  /** DATA frames of at most the client's frame size carrying `head` then `parts`, `length` bytes in all. */
  private dataFrames(streamId: number, head: Uint8Array, parts: readonly Uint8Array[], length: number): void {
    let frameLeft = 0;
    let left = length;
    for (let i = -1; i < parts.length; i++) {
      const piece = i < 0 ? head : parts[i]!;
      for (let at = 0; at < piece.length; ) {
        if (frameLeft === 0) {
          frameLeft = Math.min(this.peerMaxFrame, left);
          this.output.header(frameLeft, FrameType.DATA, 0, streamId);
        }
        const take = Math.min(frameLeft, piece.length - at);
        this.output.bytes(at === 0 && take === piece.length ? piece : piece.subarray(at, at + take));
        at += take;
        frameLeft -= take;
        left -= take;
      }
    }
  }

  private flushBlocked(): void {
    for (const stream of [...this.blocked]) this.flushStream(stream);
  }

  private maybeDrain(stream: ServerStream): void {
    if (!stream.waitingDrain || stream.closed || stream.queuedBytes > 0 || !this.socketReady) return;
    stream.waitingDrain = false;
    queueMicrotask(() => this.tell(stream, StreamEvent.DRAINED));
  }

  private localEnd(stream: ServerStream): void {
    stream.localEnded = true;
    if (stream.remoteEnded) {
      this.closeStream(stream, false);
      return;
    }
    // Answered before the request ended: the client need not send the rest.
    this.u32Frame(FrameType.RST_STREAM, stream.id, ErrorCode.NO_ERROR);
    this.closeStream(stream, true);
  }

  /** HEADERS, and CONTINUATION frames when the block is over the client's frame size. */
  private pushHeaderFrames(streamId: number, block: Buffer, endStream: boolean): void {
    const max = this.peerMaxFrame;
    const endFlag = endStream ? Flag.END_STREAM : 0;
    if (block.length <= max) {
      this.output.header(block.length, FrameType.HEADERS, endFlag | Flag.END_HEADERS, streamId);
      this.output.bytes(block);
      return;
    }
    for (let from = 0; from < block.length; from += max) {
      const part = block.subarray(from, Math.min(block.length, from + max));
      const last = from + max >= block.length;
      const type = from === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
      const flags = (from === 0 ? endFlag : 0) | (last ? Flag.END_HEADERS : 0);
      this.output.header(part.length, type, flags, streamId);
      this.output.bytes(part);
    }
  }

  private flushLater(): void {
    if (this.batching === 0) this.flushOut();
  }

  private flushOut(): void {
    if (this.output.empty) return;
    if (this.destroyed || this.socket.destroyed) this.output.clear();
    else this.output.writeTo(this.socket);
  }

  /** A frame whose payload is one 32-bit value: RST_STREAM, WINDOW_UPDATE. */
  private u32Frame(type: number, streamId: number, value: number): void {
    this.output.header(4, type, 0, streamId);
    this.output.u32(value);
  }

  private fail(err: unknown): void {
    if (this.destroyed) return;
    const code = err instanceof ConnectionError ? err.code : ErrorCode.INTERNAL_ERROR;
    logger.warn({ err, lastStream: this.lastStreamId }, 'ending CRI connection: unusable HTTP/2 input');
    this.output.bytes(goawayFrame(this.lastStreamId, code, (err as Error).message));
    this.flushOut();
    this.goingAway = true;
    for (const stream of this.streams.snapshot()) this.closeStream(stream, true);
    this.end();
    this.socket.pause();
  }

  // ---- time limits ----

  /** Runs the clock while the preface or a header block is unfinished; stops it otherwise. */
  private watchHeaderTime(): void {
    const pending = this.reader.midHeader || this.pendingBlock !== null;
    if (pending) {
      this.headerTimer ??= setTimeout(() => {
        logger.warn({ ms: this.limits.headerTimeoutMs }, 'dropping CRI connection: preface or header block not completed in time');
        this.destroy();
      }, this.limits.headerTimeoutMs);
    } else if (this.headerTimer) {
      clearTimeout(this.headerTimer);
      this.headerTimer = null;
    }
  }
}
