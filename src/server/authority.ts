/**
 * A front for the CRI unix socket that makes pre-1.31 kubelet/crictl usable.
 *
 * Those clients (Go grpc) put the socket path, e.g. `/run/cricket/cricket.sock`, into the
 * HTTP/2 `:authority` pseudo-header; nghttp2 inside Node rejects that value with RST_STREAM
 * PROTOCOL_ERROR before the gRPC server sees the call. The front accepts the connection itself,
 * rewrites `:authority` (and `host`) in every client header block to `localhost`, passes every
 * other byte through untouched, and gives the result to the gRPC server as if it were the socket
 * (listen-unix.ts does so only for connections that need it, see connection-probe.ts).
 *
 * Rewriting a header block means owning both HPACK contexts of that direction: a decoder that
 * mirrors the client's encoder, and an encoder whose dynamic table the server's decoder mirrors.
 *
 * The front is the first reader of untrusted bytes, so it bounds what one client can make it hold
 * or wait for: header block size (frame headers included) and frame count, the time to finish the
 * preface or a header block, rewritten bytes queued for the server, and open connections.
 */
import { Duplex } from 'node:stream';
import net from 'node:net';
import hpack from 'hpack.js';
import { logger } from '../log/logger.js';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER_LEN = 9;
export const TYPE_HEADERS = 0x1;
export const TYPE_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;
/** SETTINGS_MAX_FRAME_SIZE every HTTP/2 peer must accept; we never emit bigger frames. */
const MAX_FRAME_PAYLOAD = 16384;

/**
 * SETTINGS_HEADER_TABLE_SIZE of Node's HTTP/2 server, left at its default (grpc-server.ts), so
 * it bounds both the client's encoder (our decoder) and our encoder (the server's decoder).
 */
export const SERVER_HEADER_TABLE_SIZE = 4096;
/**
 * Compressed header block we are willing to buffer, counting each frame's 9-byte header too, so
 * that empty CONTINUATION frames are not free.
 */
export const MAX_HEADER_BLOCK = 1 << 20;
/** Frames (HEADERS + CONTINUATION) in one header block; 64 full-size frames already reach the cap. */
export const MAX_BLOCK_FRAMES = 256;
/** Decoded header list (RFC 7541 sizes); caps expansion through repeated indexed fields. */
const MAX_HEADER_LIST = 1 << 20;
/** Larger fields are sent without indexing so one big value does not flush the table. */
const MAX_INDEXED_ENTRY = 1024;

/** The input is not an HTTP/2 client byte stream we can follow; the connection must die. */
export class Http2FrontError extends Error {
  override readonly name = 'Http2FrontError';
}

/** How a field was (and will be) represented: indexed into the dynamic table, or not. */
type Indexing = 'index' | 'plain' | 'never';

interface HeaderField {
  name: string;
  value: string;
  indexing: Indexing;
}

interface PendingBlock {
  streamId: number;
  endStream: boolean;
  priority: Buffer | null;
  /** Fragments, copied so that a block never pins the (larger) chunks it arrived in. */
  parts: Buffer[];
  size: number;
  /** Octets on the wire so far, frame headers included. */
  wire: number;
  frames: number;
}

const EMPTY = Buffer.alloc(0);

function concat(parts: Buffer[], size: number): Buffer {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}

function octetsToString(octets: Buffer | number[]): string {
  // latin1 maps octets 1:1 to code units, so values survive the round trip byte-exact.
  return (Buffer.isBuffer(octets) ? octets : Buffer.from(octets)).toString('latin1');
}

/** Decodes client header blocks; its table mirrors the client's HPACK encoder. */
class BlockDecoder {
  private readonly table = hpack.table.create({ maxSize: SERVER_HEADER_TABLE_SIZE });

  decode(block: Buffer): HeaderField[] {
    const input = hpack.decoder.create();
    input.push(block);
    const fields: HeaderField[] = [];
    let listSize = 0;
    try {
      while (!input.isEmpty()) {
        let field: HeaderField;
        if (input.decodeBit() === 1) {
          const entry = this.table.lookup(input.decodeInt());
          field = { name: entry.name, value: entry.value, indexing: 'index' };
        } else if (input.decodeBit() === 1) {
          field = this.literal(input, 'index');
          this.table.add(field.name, field.value, field.name.length, field.value.length);
        } else if (input.decodeBit() === 1) {
          // RFC 7541 4.2: size updates are only valid before the first field of a block.
          if (fields.length > 0) throw new Error('dynamic table size update after a header field');
          const size = input.decodeInt();
          if (size > this.table.protocolMaxSize) throw new Error(`dynamic table size ${size} over limit`);
          this.table.updateSize(size);
          continue;
        } else {
          field = this.literal(input, input.decodeBit() === 1 ? 'never' : 'plain');
        }
        listSize += field.name.length + field.value.length + 32;
        if (listSize > MAX_HEADER_LIST) throw new Error('decoded header list too large');
        fields.push(field);
      }
    } catch (err) {
      throw new Http2FrontError(`HPACK decoding failed: ${(err as Error).message}`, { cause: err });
    }
    return fields;
  }

  private literal(input: hpack.Decoder, indexing: Indexing): HeaderField {
    const nameIndex = input.decodeInt();
    const name = nameIndex === 0 ? octetsToString(input.decodeStr()) : this.table.lookup(nameIndex).name;
    return { name, value: octetsToString(input.decodeStr()), indexing };
  }
}

/** Exact and name-only lookups into the HPACK static table, built once. */
const STATIC_INDEX: ReadonlyMap<string, { nameIndex: number; values: ReadonlyMap<string, number> }> = (() => {
  const map = new Map<string, { nameIndex: number; values: Map<string, number> }>();
  hpack['static-table'].table.forEach((entry, i) => {
    let slot = map.get(entry.name);
    if (!slot) map.set(entry.name, (slot = { nameIndex: i + 1, values: new Map() }));
    if (!slot.values.has(entry.value)) slot.values.set(entry.value, i + 1);
  });
  return map;
})();
const STATIC_LEN = hpack['static-table'].table.length;

/** Encodes header blocks for the server; its table is what the server's decoder mirrors. */
class BlockEncoder {
  // Never larger than the server's advertised limit, so no size update is ever needed.
  private readonly table = hpack.table.create({ maxSize: SERVER_HEADER_TABLE_SIZE });

  encode(fields: readonly HeaderField[]): Buffer {
    const out = hpack.encoder.create();
    for (const field of fields) {
      const { exact, nameIndex } = this.find(field.name, field.value);
      if (exact > 0 && field.indexing !== 'never') {
        out.encodeBit(1);
        out.encodeInt(exact);
        continue;
      }
      const name = Buffer.from(field.name, 'latin1');
      const value = Buffer.from(field.value, 'latin1');
      const entrySize = name.length + value.length + 32;
      if (field.indexing === 'index' && entrySize <= MAX_INDEXED_ENTRY) {
        out.encodeBits(0b01, 2);
        this.table.add(field.name, field.value, name.length, value.length);
      } else {
        out.encodeBits(field.indexing === 'never' ? 0b0001 : 0b0000, 4);
      }
      out.encodeInt(nameIndex);
      if (nameIndex === 0) writeString(out, name);
      writeString(out, value);
    }
    const rendered = out.render();
    return rendered.length === 1 ? rendered[0]! : Buffer.concat(rendered);
  }

  /** Index of an exact match (0 if none) and of some entry with the name (0 if none). */
  private find(name: string, value: string): { exact: number; nameIndex: number } {
    const fixed = STATIC_INDEX.get(name);
    const staticExact = fixed?.values.get(value);
    if (staticExact !== undefined) return { exact: staticExact, nameIndex: staticExact };
    let nameIndex = fixed?.nameIndex ?? 0;
    const dynamic = this.table.dynamic;
    // Newest entry sits at index STATIC_LEN + 1, i.e. at the end of the array.
    for (let i = dynamic.length - 1; i >= 0; i--) {
      const entry = dynamic[i]!;
      if (entry.name !== name) continue;
      const index = STATIC_LEN + dynamic.length - i;
      if (entry.value === value) return { exact: index, nameIndex: index };
      if (nameIndex === 0) nameIndex = index;
    }
    return { exact: 0, nameIndex };
  }
}

const HUFFMAN = hpack.huffman.encode;

function writeString(out: hpack.Encoder, octets: Buffer): void {
  // Huffman only when it is actually shorter (it rarely is for binary or base64 values).
  let bits = 0;
  for (let i = 0; i < octets.length; i++) bits += HUFFMAN[octets[i]!]![0];
  out.encodeStr(octets, Math.ceil(bits / 8) < octets.length);
}

/** The only edit: `:authority` becomes `authority`; a `host` next to it is dropped as redundant. */
/** `:authority` and `host` values nghttp2 accepts: RFC 3986 authority characters, no path. */
const PLAIN_AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]]{1,255}$/;

function acceptableAuthority(fields: readonly HeaderField[]): boolean {
  let named = 0;
  for (const f of fields) {
    if (f.name !== ':authority' && f.name !== 'host') continue;
    if (!PLAIN_AUTHORITY.test(f.value)) return false;
    named++;
  }
  return named > 0;
}

/**
 * Whether a connection's first header block (its HPACK fragment, decoded from an empty table)
 * carries an authority nghttp2 accepts. Throws Http2FrontError when it cannot be decoded.
 */
export function acceptableFirstBlock(fragment: Buffer): boolean {
  return acceptableAuthority(new BlockDecoder().decode(fragment));
}

function rewriteAuthority(fields: HeaderField[], authority: string): HeaderField[] {
  const hasAuthority = fields.some((f) => f.name === ':authority');
  const result: HeaderField[] = [];
  for (const field of fields) {
    if (field.name === ':authority') {
      result.push({ name: field.name, value: authority, indexing: 'index' });
    } else if (field.name === 'host') {
      // nghttp2 validates `host` like `:authority`; RFC 9113 8.3.1 lets :authority win.
      if (!hasAuthority) result.push({ name: field.name, value: authority, indexing: 'index' });
    } else {
      result.push(field);
    }
  }
  return result;
}

function writeFrameHeader(out: Buffer, at: number, length: number, type: number, flags: number, streamId: number): void {
  out.writeUIntBE(length, at, 3);
  out[at + 3] = type;
  out[at + 4] = flags;
  out.writeUInt32BE(streamId, at + 5);
}

/** HEADERS (+ CONTINUATION) frames carrying `block`, none over the default max frame size. */
function frameHeaderBlock(block: Buffer, streamId: number, endStream: boolean, priority: Buffer | null): Buffer {
  const prefix = priority ? priority.length : 0;
  const first = Math.min(block.length, MAX_FRAME_PAYLOAD - prefix);
  const rest = block.length - first;
  const continuations = Math.ceil(rest / MAX_FRAME_PAYLOAD);
  const out = Buffer.allocUnsafe(FRAME_HEADER_LEN * (1 + continuations) + prefix + block.length);
  let flags = (endStream ? FLAG_END_STREAM : 0) | (priority ? FLAG_PRIORITY : 0) | (rest === 0 ? FLAG_END_HEADERS : 0);
  writeFrameHeader(out, 0, prefix + first, TYPE_HEADERS, flags, streamId);
  let at = FRAME_HEADER_LEN;
  if (priority) at += priority.copy(out, at);
  at += block.copy(out, at, 0, first);
  for (let from = first; from < block.length; from += MAX_FRAME_PAYLOAD) {
    const len = Math.min(MAX_FRAME_PAYLOAD, block.length - from);
    flags = from + len === block.length ? FLAG_END_HEADERS : 0;
    writeFrameHeader(out, at, len, TYPE_CONTINUATION, flags, streamId);
    at += FRAME_HEADER_LEN;
    at += block.copy(out, at, from, from + len);
  }
  return out;
}

/**
 * Incremental rewriter of one connection's client-to-server bytes. Feed chunks as they arrive;
 * output goes to `emit` in order. Passthrough bytes are emitted as slices of the input (runs of
 * whole frames in one slice); only header blocks are buffered and re-encoded. Throws
 * Http2FrontError when the input cannot be followed; the connection must then be dropped.
 */
export class AuthorityRewriter {
  private prefaceLeft = PREFACE.length;
  /** A frame header split across chunks. */
  private readonly head = Buffer.alloc(FRAME_HEADER_LEN);
  private headLen = 0;
  /** Payload octets of the current frame not yet seen. */
  private payloadLeft = 0;
  /** Whether the current frame's payload is gathered (HEADERS/CONTINUATION) or passed on. */
  private collecting = false;
  private frameType = 0;
  private frameFlags = 0;
  private frameStream = 0;
  /** The current frame's payload: one slice of the input, or `frameBuffer` when it spans chunks. */
  private framePayload: Buffer | null = null;
  private frameBuffer: Buffer | null = null;
  private frameSize = 0;
  /** A header block still waiting for END_HEADERS. */
  private block: PendingBlock | null = null;
  private readonly decoder = new BlockDecoder();
  private readonly encoder = new BlockEncoder();
  /**
   * Set when the client's first header block carries an authority nghttp2 accepts (grpc-go since
   * kubelet 1.31, grpc-js): that block and every byte after it pass untouched, so the server's
   * HPACK decoder follows the client's encoder and no call pays for a decode and re-encode. A
   * client that later sends a bad authority only has those streams refused by nghttp2.
   */
  private passthrough = false;
  /** Once a block was re-encoded, the server's decoder follows our encoder for good. */
  private rewrote = false;

  constructor(
    private readonly emit: (bytes: Buffer) => void,
    private readonly authority = 'localhost',
  ) {}

  write(chunk: Buffer): void {
    if (this.passthrough) {
      this.emit(chunk);
      return;
    }
    const end = chunk.length;
    let i = 0;
    let runStart = 0;
    if (this.prefaceLeft > 0) {
      const take = Math.min(this.prefaceLeft, end);
      const at = PREFACE.length - this.prefaceLeft;
      if (chunk.compare(PREFACE, at, at + take, 0, take) !== 0) {
        throw new Http2FrontError('client did not send the HTTP/2 connection preface');
      }
      this.prefaceLeft -= take;
      i = take;
    }
    while (i < end) {
      if (this.passthrough) break;
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, end - i);
        if (this.collecting) this.gather(chunk, i, take);
        i += take;
        this.payloadLeft -= take;
        if (this.collecting) {
          runStart = i;
          if (this.payloadLeft === 0) this.finishFrame();
        }
        continue;
      }

      let head: Buffer;
      let headAt: number;
      const split = this.headLen > 0 || end - i < FRAME_HEADER_LEN;
      if (!split) {
        head = chunk;
        headAt = i;
        i += FRAME_HEADER_LEN;
      } else {
        if (i > runStart) this.emit(chunk.subarray(runStart, i));
        const take = Math.min(FRAME_HEADER_LEN - this.headLen, end - i);
        chunk.copy(this.head, this.headLen, i, i + take);
        this.headLen += take;
        i += take;
        runStart = i;
        if (this.headLen < FRAME_HEADER_LEN) break;
        this.headLen = 0;
        head = this.head;
        headAt = 0;
      }

      const length = head.readUIntBE(headAt, 3);
      const type = head[headAt + 3]!;
      const flags = head[headAt + 4]!;
      const streamId = head.readUInt32BE(headAt + 5) & 0x7fffffff;
      if (this.block && (type !== TYPE_CONTINUATION || streamId !== this.block.streamId)) {
        throw new Http2FrontError(`expected CONTINUATION on stream ${this.block.streamId}, got frame type ${type}`);
      }
      this.payloadLeft = length;
      this.collecting = type === TYPE_HEADERS || type === TYPE_CONTINUATION;
      if (!this.collecting) {
        // Header bytes in `this.head` are reused; the run covers in-chunk headers already.
        if (split) this.emit(Buffer.from(this.head));
        continue;
      }
      if (type === TYPE_CONTINUATION && !this.block) {
        throw new Http2FrontError(`CONTINUATION without HEADERS on stream ${streamId}`);
      }
      const block = this.block;
      if ((block ? block.wire : 0) + FRAME_HEADER_LEN + length > MAX_HEADER_BLOCK) {
        throw new Http2FrontError(`header block on stream ${streamId} exceeds ${MAX_HEADER_BLOCK} bytes`);
      }
      if (block) {
        block.wire += FRAME_HEADER_LEN + length;
        if (++block.frames > MAX_BLOCK_FRAMES) {
          throw new Http2FrontError(`header block on stream ${streamId} spans more than ${MAX_BLOCK_FRAMES} frames`);
        }
      }
      if (!split && headAt > runStart) this.emit(chunk.subarray(runStart, headAt));
      runStart = i;
      this.frameType = type;
      this.frameFlags = flags;
      this.frameStream = streamId;
      this.framePayload = null;
      this.frameSize = 0;
      if (length === 0) this.finishFrame();
    }
    if (end > runStart) this.emit(chunk.subarray(runStart, end));
  }

  /** True when no frame or header block is half-received (useful for tests and draining). */
  get idle(): boolean {
    return this.prefaceLeft === 0 && this.headLen === 0 && this.payloadLeft === 0 && this.block === null;
  }

  /**
   * True while the preface or a header block is incomplete. The server can do nothing with the
   * connection meanwhile, so the caller bounds how long this may last.
   */
  get headerPending(): boolean {
    return this.prefaceLeft > 0 || this.collecting || this.block !== null;
  }

  private gather(chunk: Buffer, at: number, take: number): void {
    if (this.frameSize === 0 && take === this.payloadLeft) {
      // The whole payload is in this chunk: a slice, no copy (the common case).
      this.framePayload = chunk.subarray(at, at + take);
    } else {
      // Spread over chunks: one buffer of the announced length (capped above), so a trickle of
      // tiny chunks costs no more than the payload itself.
      if (this.frameSize === 0) this.frameBuffer = Buffer.allocUnsafe(this.payloadLeft);
      chunk.copy(this.frameBuffer!, this.frameSize, at, at + take);
      this.framePayload = this.frameBuffer;
    }
    this.frameSize += take;
  }

  private finishFrame(): void {
    const payload = this.framePayload ?? EMPTY;
    this.framePayload = null;
    this.frameBuffer = null;
    this.collecting = false;
    const flags = this.frameFlags;
    if (this.frameType === TYPE_HEADERS) {
      let start = 0;
      let stop = payload.length;
      let priority: Buffer | null = null;
      if (flags & FLAG_PADDED) {
        if (stop < 1) throw new Http2FrontError('PADDED HEADERS frame without pad length');
        stop -= payload[0]!;
        start = 1;
      }
      if (flags & FLAG_PRIORITY) {
        priority = Buffer.from(payload.subarray(start, start + 5));
        start += 5;
      }
      if (stop < start) throw new Http2FrontError(`HEADERS frame on stream ${this.frameStream} too short for its padding/priority`);
      const fragment = payload.subarray(start, stop);
      const ends = (flags & FLAG_END_HEADERS) !== 0;
      this.block = {
        streamId: this.frameStream,
        endStream: (flags & FLAG_END_STREAM) !== 0,
        priority,
        parts: [ends ? fragment : Buffer.from(fragment)],
        size: fragment.length,
        wire: FRAME_HEADER_LEN + payload.length,
        frames: 1,
      };
    } else if (payload.length > 0) {
      this.block!.parts.push(Buffer.from(payload));
      this.block!.size += payload.length;
    }
    if (flags & FLAG_END_HEADERS) {
      const block = this.block!;
      this.block = null;
      const raw = concat(block.parts, block.size);
      const decoded = this.decoder.decode(raw);
      if (!this.rewrote && acceptableAuthority(decoded)) {
        this.passthrough = true;
        this.emit(frameHeaderBlock(raw, block.streamId, block.endStream, block.priority));
        return;
      }
      this.rewrote = true;
      const fields = rewriteAuthority(decoded, this.authority);
      this.emit(frameHeaderBlock(this.encoder.encode(fields), block.streamId, block.endStream, block.priority));
    }
  }
}

/** Open connections on one socket; more are closed as they arrive. */
export const MAX_CONNECTIONS = 256;
/** Time a client gets to finish the preface or a header block it has started. */
export const HEADER_TIMEOUT_MS = 10_000;
/**
 * Rewritten bytes waiting for the gRPC server before the connection is dropped. Reading stops at the
 * stream's high-water mark; what lies above it is the rest of one input chunk, whose header
 * blocks may expand (indexed fields) up to about one decoded block each.
 */
export const MAX_BUFFERED = 4 << 20;

export interface FrontLimits {
  /** Time to finish the preface or a started header block. */
  headerTimeoutMs: number;
  /** Rewritten bytes allowed to wait for the server. */
  maxBuffered: number;
}

/**
 * What the gRPC server gets instead of the socket: reads yield the rewritten client bytes, writes go to
 * the socket unchanged. Backpressure is forwarded both ways.
 */
class FrontStream extends Duplex {
  private readonly rewriter: AuthorityRewriter;
  /** Runs while `rewriter.headerPending`; checked once per chunk, never per frame. */
  private headerTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly socket: net.Socket,
    authority: string,
    private readonly limits: FrontLimits,
  ) {
    super({ allowHalfOpen: false });
    this.rewriter = new AuthorityRewriter((bytes) => {
      if (!this.push(bytes)) {
        socket.pause();
        // Only the rest of the current chunk can still arrive; indexed fields could inflate it.
        if (this.readableLength > limits.maxBuffered) {
          throw new Http2FrontError(`more than ${limits.maxBuffered} rewritten bytes wait for the server`);
        }
      }
    }, authority);
    this.watchHeaderTime();
    socket.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      try {
        this.rewriter.write(chunk);
      } catch (err) {
        logger.warn({ err }, 'dropping CRI connection: unusable HTTP/2 input');
        this.hangUp();
        return;
      }
      if (this.rewriter.headerPending !== (this.headerTimer !== null)) this.watchHeaderTime();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => logger.debug({ err }, 'CRI connection error'));
    socket.on('close', () => this.destroy());
  }

  /** Starts the clock when a header block (or the preface) is open, stops it when none is. */
  private watchHeaderTime(): void {
    if (this.rewriter.headerPending) {
      this.headerTimer ??= setTimeout(() => {
        logger.warn({ ms: this.limits.headerTimeoutMs }, 'dropping CRI connection: preface or header block not completed in time');
        this.hangUp();
      }, this.limits.headerTimeoutMs);
    } else if (this.headerTimer) {
      clearTimeout(this.headerTimer);
      this.headerTimer = null;
    }
  }

  private hangUp(): void {
    // No GOAWAY: the server side owns the outgoing frame sequence; a reset is enough.
    this.socket.destroy();
    this.destroy();
  }
  override _read(): void {
    if (this.socket.isPaused()) this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.write(chunk)) callback();
    else this.afterDrain(callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.socket.cork();
    let ok = true;
    for (const { chunk } of chunks) ok = this.socket.write(chunk);
    this.socket.uncork();
    if (ok) callback();
    else this.afterDrain(callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.headerTimer) clearTimeout(this.headerTimer);
    this.headerTimer = null;
    this.socket.destroy();
    callback(err);
  }

  private afterDrain(callback: () => void): void {
    const done = (): void => {
      this.socket.off('drain', done);
      this.socket.off('close', done);
      callback();
    };
    this.socket.on('drain', done);
    this.socket.on('close', done);
  }
}

/**
 * Wraps one accepted client socket: the returned stream is what the HTTP/2 server reads and
 * writes instead of the socket.
 */
export function frontStream(socket: net.Socket, authority = 'localhost', limits: Partial<FrontLimits> = {}): Duplex {
  return new FrontStream(socket, authority, {
    headerTimeoutMs: limits.headerTimeoutMs ?? HEADER_TIMEOUT_MS,
    maxBuffered: limits.maxBuffered ?? MAX_BUFFERED,
  });
}

