/**
 * Request header blocks: HEADERS and CONTINUATION fragments gathered under a size and frame
 * cap, then HPACK-decoded against the connection's dynamic table (RFC 7541), which mirrors the
 * client's encoder and so must see every block, even of a stream that is refused.
 */
import hpack from 'hpack.js';
import { ConnectionError, ErrorCode, FRAME_HEADER_LEN } from './frames.js';

/** SETTINGS_HEADER_TABLE_SIZE this server keeps (the protocol default; never advertised). */
export const HEADER_TABLE_SIZE = 4096;
/** Compressed block we buffer, each frame's 9-byte header counted so empty frames are not free. */
export const MAX_HEADER_BLOCK = 1 << 20;
/** Frames (HEADERS + CONTINUATION) in one block; 64 full-size frames already reach the cap. */
export const MAX_BLOCK_FRAMES = 256;
/** Decoded header list (RFC 7541 sizes); caps expansion through repeated indexed fields. */
export const MAX_HEADER_LIST = 1 << 20;
/** Decoded headers held by the open streams of one connection. */
export const MAX_OPEN_HEADER_BYTES = 16 << 20;

/** Header fields by lower-case name; repeated names are joined with ", ". */
export type RequestHeaders = Record<string, string>;

export class HeaderBlockError extends Error {
  override readonly name = 'HeaderBlockError';
}

/** Fragments of one header block still waiting for END_HEADERS. */
export class PendingBlock {
  private readonly parts: Buffer[] = [];
  private size = 0;
  private wire = 0;
  private frames = 0;

  constructor(
    readonly streamId: number,
    readonly endStream: boolean,
  ) {}

  add(fragment: Buffer, framePayload: number): void {
    this.wire += FRAME_HEADER_LEN + framePayload;
    if (this.wire > MAX_HEADER_BLOCK) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `header block on stream ${this.streamId} exceeds ${MAX_HEADER_BLOCK} bytes`);
    }
    if (++this.frames > MAX_BLOCK_FRAMES) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `header block on stream ${this.streamId} spans more than ${MAX_BLOCK_FRAMES} frames`);
    }
    if (fragment.length === 0) return;
    // Copied: a fragment must not pin the (larger) chunk it arrived in while the block waits.
    this.parts.push(Buffer.from(fragment));
    this.size += fragment.length;
  }

  bytes(): Buffer {
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
  }
}

/** Fields that belong to one HTTP/1 hop and make an HTTP/2 request malformed (RFC 9113 8.2.2). */
const CONNECTION_FIELDS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
const FORBIDDEN_VALUE = /[\0\r\n]/;

/** Why one field makes the request malformed (RFC 9113 8.2 and 8.3), or null. */
function malformedField(name: string, value: string, regularSeen: boolean, seen: RequestHeaders): string | null {
  const shown = JSON.stringify(name.slice(0, 64));
  if (name.length === 0) return 'empty header name';
  if (FORBIDDEN_VALUE.test(value)) return `header ${shown} has NUL, CR or LF in its value`;
  if (name.charCodeAt(0) === 0x3a) {
    if (regularSeen) return `pseudo-header ${shown} after regular headers`;
    if (name in seen) return `repeated pseudo-header ${shown}`;
    return null;
  }
  if (name !== name.toLowerCase()) return `header name ${shown} is not lower-case`;
  if (CONNECTION_FIELDS.has(name)) return `connection-specific header ${shown}`;
  if (name === 'te' && value !== 'trailers') return 'te other than "trailers"';
  return null;
}

function latin1(octets: Buffer | number[]): string {
  // latin1 maps octets 1:1 to code units, so values survive byte-exact.
  return (Buffer.isBuffer(octets) ? octets : Buffer.from(octets)).toString('latin1');
}

/** Decodes a connection's request header blocks; its table mirrors the client's encoder. */
export class HeaderDecoder {
  private readonly table = hpack.table.create({ maxSize: HEADER_TABLE_SIZE });

  /**
   * The header list of one block. A block HPACK cannot follow is a connection error
   * (COMPRESSION_ERROR); `fieldError` is set for a well-encoded but malformed list, which only
   * the stream pays for.
   */
  decode(block: Buffer): { headers: RequestHeaders; size: number; fieldError: string | null } {
    const input = hpack.decoder.create();
    input.push(block);
    const headers: RequestHeaders = Object.create(null) as RequestHeaders;
    let fieldError: string | null = null;
    let count = 0;
    let listSize = 0;
    let regularSeen = false;
    try {
      while (!input.isEmpty()) {
        let name: string;
        let value: string;
        if (input.decodeBit() === 1) {
          const entry = this.table.lookup(input.decodeInt());
          name = entry.name;
          value = entry.value;
        } else if (input.decodeBit() === 1) {
          [name, value] = this.literal(input);
          this.table.add(name, value, name.length, value.length);
        } else if (input.decodeBit() === 1) {
          // RFC 7541 4.2: size updates only come before the first field of a block.
          if (count > 0) throw new Error('dynamic table size update after a header field');
          const size = input.decodeInt();
          if (size > this.table.protocolMaxSize) throw new Error(`dynamic table size ${size} over limit`);
          this.table.updateSize(size);
          continue;
        } else {
          input.decodeBit(); // never-indexed or not: both are kept out of the table alike
          [name, value] = this.literal(input);
        }
        count++;
        listSize += name.length + value.length + 32;
        if (listSize > MAX_HEADER_LIST) throw new Error('decoded header list too large');
        if (fieldError) continue;
        fieldError = malformedField(name, value, regularSeen, headers);
        if (name.charCodeAt(0) !== 0x3a) regularSeen = true;
        const before = headers[name];
        headers[name] = before === undefined ? value : `${before}, ${value}`;
      }
    } catch (err) {
      throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, `HPACK decoding failed: ${(err as Error).message}`);
    }
    return { headers, size: listSize, fieldError };
  }

  private literal(input: hpack.Decoder): [string, string] {
    const nameIndex = input.decodeInt();
    const name = nameIndex === 0 ? latin1(input.decodeStr()) : this.table.lookup(nameIndex).name;
    return [name, latin1(input.decodeStr())];
  }
}
