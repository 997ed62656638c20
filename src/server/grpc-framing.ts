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

export interface FramedMessage {
  compressed: boolean;
  body: Buffer;
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

  push(chunk: Buffer): FramedMessage[] {
    const out: FramedMessage[] = [];
    this.parts.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < MESSAGE_PREFIX_LEN) break;
        const prefix = this.take(MESSAGE_PREFIX_LEN);
        const flag = prefix[0]!;
        if (flag > 1) throw new GrpcFramingError(status.INTERNAL, `message flag ${flag} is not 0 or 1`);
        this.compressed = flag === 1;
        const length = prefix.readUInt32BE(1);
        if (length > this.maxMessage) {
          throw new GrpcFramingError(status.RESOURCE_EXHAUSTED, `request message of ${length} bytes is over the limit of ${this.maxMessage}`);
        }
        this.need = length;
      }
      if (this.buffered < this.need) break;
      out.push({ compressed: this.compressed, body: this.take(this.need) });
      this.need = -1;
    }
    return out;
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.parts[0]!;
    let result: Buffer;
    if (first.length >= n) {
      result = first.subarray(0, n);
      if (first.length === n) this.parts.shift();
      else this.parts[0] = first.subarray(n);
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

/** One message framed for the wire as the chunks to write in order: a gathered body's parts are not copied. */
export function framedChunks(body: MessageBody): Uint8Array[] {
  if (!(body instanceof GatheredBody)) return [frameMessage(body)];
  const prefix = Buffer.allocUnsafe(MESSAGE_PREFIX_LEN);
  writeMessagePrefix(prefix, body.length);
  return [prefix, ...body.parts];
}

/** Not compressed, then the length. */
function writeMessagePrefix(out: Buffer, length: number): void {
  out[0] = 0;
  out.writeUInt32BE(length, 1);
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * The `grpc-timeout` header in milliseconds: 1 to 8 digits and a unit (H, M, S, m, u, n).
 * Anything else is refused rather than read as "no deadline".
 */
export function parseGrpcTimeout(value: string): number {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) throw new GrpcFramingError(status.INTERNAL, `grpc-timeout ${JSON.stringify(value.slice(0, 32))} is not a timeout`);
  return Number(match[1]) * TIMEOUT_UNIT_MS[match[2]!]!;
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
