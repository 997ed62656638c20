/**
 * gRPC's message framing over HTTP/2 and the header values that go with it: pure functions the
 * server (grpc-server.ts) uses and unit tests call directly.
 *
 * A message on the wire is a 1-byte compressed flag, a 4-byte big-endian length and the body.
 */
import { status } from '@grpc/grpc-js';

export const MESSAGE_PREFIX_LEN = 5;

/** A request the framing layer refuses, with the gRPC status code it answers with. */
export class GrpcFramingError extends Error {
  override readonly name = 'GrpcFramingError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Where a MessageReader hands each message it completes. */
export interface MessageSink {
  message(body: Buffer, compressed: boolean): void;
}

/**
 * Cuts a request body into messages as its chunks arrive. It keeps at most one message's bytes
 * and refuses one whose announced length is over `maxMessage` before reading it.
 */
export class MessageReader {
  private parts: Buffer[] = [];
  private buffered = 0;
  private need = -1;
  private compressed = false;

  constructor(private readonly maxMessage: number) {}

  /** Bytes held for the message in progress. */
  get pending(): number {
    return this.buffered;
  }

  /** Whether the bytes so far end exactly at a message boundary. */
  get atBoundary(): boolean {
    return this.buffered === 0 && this.need < 0;
  }

  /** Feeds one chunk; `sink` hears every message it completes, in order. */
  push(chunk: Buffer, sink: MessageSink): void {
    let at = 0;
    // Messages that lie whole in the chunk are cut out of it where they are (a unary request
    // arrives as one chunk); only a message spread over chunks is gathered.
    while (this.buffered === 0 && this.need < 0 && chunk.length - at >= MESSAGE_PREFIX_LEN) {
      const length = this.readPrefix(chunk[at]!, chunk.readUInt32BE(at + 1));
      if (chunk.length - at - MESSAGE_PREFIX_LEN < length) break;
      at += MESSAGE_PREFIX_LEN;
      sink.message(length === 0 ? EMPTY : chunk.subarray(at, at + length), this.compressed);
      at += length;
    }
    if (at === chunk.length) return;
    const rest = at === 0 ? chunk : chunk.subarray(at);
    this.parts.push(rest);
    this.buffered += rest.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < MESSAGE_PREFIX_LEN) break;
        const length = this.byteAt(1) * 2 ** 24 + this.byteAt(2) * 2 ** 16 + this.byteAt(3) * 2 ** 8 + this.byteAt(4);
        this.need = this.readPrefix(this.byteAt(0), length);
        this.skip(MESSAGE_PREFIX_LEN);
      }
      if (this.buffered < this.need) break;
      const body = this.take(this.need);
      this.need = -1;
      sink.message(body, this.compressed);
    }
  }

  /** Checks a message's flag and announced length; sets `compressed`; returns the length. */
  private readPrefix(flag: number, length: number): number {
    if (flag > 1) throw new GrpcFramingError(status.INTERNAL, `message flag ${flag} is not 0 or 1`);
    if (length > this.maxMessage) {
      throw new GrpcFramingError(status.RESOURCE_EXHAUSTED, `request message of ${length} bytes is over the limit of ${this.maxMessage}`);
    }
    this.compressed = flag === 1;
    return length;
  }

  /** The buffered byte at `offset`, without taking it. */
  private byteAt(offset: number): number {
    for (const part of this.parts) {
      if (offset < part.length) return part[offset]!;
      offset -= part.length;
    }
    throw new RangeError('offset past the buffered bytes');
  }

  private skip(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const first = this.parts[0]!;
      if (first.length > n) {
        this.parts[0] = first.subarray(n);
        return;
      }
      n -= first.length;
      this.parts.shift();
    }
  }

  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.parts[0]!;
    let result: Buffer;
    if (first.length === n) {
      result = first;
      this.parts.shift();
    } else if (first.length > n) {
      result = first.subarray(0, n);
      this.parts[0] = first.subarray(n);
    } else {
      result = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const part = this.parts[0]!;
        const used = Math.min(part.length, n - filled);
        part.copy(result, filled, 0, used);
        filled += used;
        if (used === part.length) this.parts.shift();
        else this.parts[0] = part.subarray(used);
      }
    }
    this.buffered -= n;
    return result;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * A message body given as parts that go out one after another and are never joined. The list
 * replies are made of bytes kept per record: joining them would allocate the whole reply (tens of
 * KiB at 100 pods) on every call, outside V8's heap, and V8 counts such memory toward its next
 * full collection.
 */
export class GatheredBody {
  constructor(
    readonly parts: readonly Uint8Array[],
    readonly length: number,
  ) {}
}

export type MessageBody = Uint8Array | GatheredBody;

/** One message framed for the wire, in one allocation. */
export function frameMessage(body: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(MESSAGE_PREFIX_LEN + body.length);
  writeMessagePrefix(frame, body.length);
  frame.set(body, MESSAGE_PREFIX_LEN);
  return frame;
}

/**
 * One message framed for the wire as a head and the parts that follow it: a gathered body's
 * parts are neither copied nor put in a new list.
 */
export function framedParts(body: MessageBody): { head: Uint8Array; parts: readonly Uint8Array[] } {
  if (!(body instanceof GatheredBody)) return { head: frameMessage(body), parts: NO_PARTS };
  const prefix = Buffer.allocUnsafe(MESSAGE_PREFIX_LEN);
  writeMessagePrefix(prefix, body.length);
  return { head: prefix, parts: body.parts };
}

/** One message framed for the wire as the chunks to write in order. */
export function framedChunks(body: MessageBody): Uint8Array[] {
  const { head, parts } = framedParts(body);
  return [head, ...parts];
}

const NO_PARTS: readonly Uint8Array[] = [];

/** Not compressed, then the length. */
function writeMessagePrefix(out: Buffer, length: number): void {
  out[0] = 0;
  out.writeUInt32BE(length, 1);
}

/** Milliseconds per unit of `grpc-timeout`, by the unit's character code. */
const TIMEOUT_UNIT_MS = new Map<number, number>([
  [0x48, 3_600_000], // H
  [0x4d, 60_000], // M
  [0x53, 1000], // S
  [0x6d, 1], // m
  [0x75, 1e-3], // u
  [0x6e, 1e-6], // n
]);

/**
 * The `grpc-timeout` header in milliseconds: 1 to 8 digits and a unit (H, M, S, m, u, n).
 * Anything else is refused rather than read as "no deadline". Read by hand: a regular
 * expression's match is an array per call, and every kubelet call has this header.
 */
export function parseGrpcTimeout(value: string): number {
  const digits = value.length - 1;
  const unit = TIMEOUT_UNIT_MS.get(value.charCodeAt(digits));
  let amount = 0;
  let valid = digits >= 1 && digits <= 8 && unit !== undefined;
  for (let i = 0; valid && i < digits; i++) {
    const digit = value.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) valid = false;
    amount = amount * 10 + digit;
  }
  if (!valid) throw new GrpcFramingError(status.INTERNAL, `grpc-timeout ${JSON.stringify(value.slice(0, 32))} is not a timeout`);
  return amount * unit!;
}

/**
 * `grpc-message` as the spec wants it on the wire: UTF-8, with '%' and every byte outside
 * printable ASCII percent-encoded. Long texts are cut so one status never makes a huge header.
 */
export function encodeGrpcMessage(details: string, maxBytes = 8192): string {
  let bytes = Buffer.from(details, 'utf8');
  if (bytes.length > maxBytes) bytes = bytes.subarray(0, maxBytes);
  let plain = true;
  for (const b of bytes) {
    if (b < 0x20 || b > 0x7e || b === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return bytes.toString('latin1');
  let out = '';
  for (const b of bytes) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  }
  return out;
}
