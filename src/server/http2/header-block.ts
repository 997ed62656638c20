/**
 * Request header blocks: HEADERS and CONTINUATION fragments gathered under a size and frame
 * cap, then HPACK-decoded against the connection's dynamic table (RFC 7541), which mirrors the
 * client's encoder and so must see every block, even of a stream that is refused.
 */
import { ConnectionError, ErrorCode, FRAME_HEADER_LEN } from './frames.js';
import { HeaderTable } from './header-table.js';
import { decodeHuffman } from './huffman.js';

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

/**
 * A request's header fields in the order received. Lookups scan the list: a gRPC request has a
 * dozen fields, and keeping them as two arrays costs a fraction of a keyed object per call.
 */
export class RequestHeaders {
  private readonly names: string[] = [];
  private readonly values: string[] = [];

  /** The field's value; repeated names are joined with ", ". */
  get(name: string): string | undefined {
    let found: string | undefined;
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i] !== name) continue;
      found = found === undefined ? this.values[i] : `${found}, ${this.values[i]}`;
    }
    return found;
  }

  add(name: string, value: string): void {
    this.names.push(name);
    this.values.push(value);
  }

  /** The fields by name, for APIs that take Node's header object. */
  toRecord(): Record<string, string> {
    const record = Object.create(null) as Record<string, string>;
    for (let i = 0; i < this.names.length; i++) {
      const name = this.names[i]!;
      const before = record[name];
      record[name] = before === undefined ? this.values[i]! : `${before}, ${this.values[i]}`;
    }
    return record;
  }
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
/** The request pseudo-headers RFC 9113 8.3.1 defines (no :protocol: extended CONNECT is not offered). */
const REQUEST_PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path']);
const FORBIDDEN_VALUE = /[\0\r\n]/;
/** RFC 9113 8.2.1: upper-case letters, controls, space, DEL and non-ASCII octets (a pseudo-header's ':' passes). */
const FORBIDDEN_NAME = /[\0-\x20A-Z\x7f-\xff]/;

function shown(name: string): string {
  return JSON.stringify(name.slice(0, 64));
}

/** Why one field makes the request malformed (RFC 9113 8.2 and 8.3), or null. */
function malformedField(name: string, value: string, regularSeen: boolean, seen: RequestHeaders): string | null {
  if (name.length === 0) return 'empty header name';
  if (FORBIDDEN_VALUE.test(value)) return `header ${shown(name)} has NUL, CR or LF in its value`;
  if (name.charCodeAt(0) === 0x3a) {
    if (!REQUEST_PSEUDO_HEADERS.has(name)) return `undefined pseudo-header ${shown(name)}`;
    if (regularSeen) return `pseudo-header ${shown(name)} after regular headers`;
    // Only the four defined names get here, each at most once before this: the scan is short.
    if (seen.get(name) !== undefined) return `repeated pseudo-header ${shown(name)}`;
    return null;
  }
  if (FORBIDDEN_NAME.test(name)) return `header name ${shown(name)} has an upper-case letter, a space, a control or a non-ASCII octet`;
  if (CONNECTION_FIELDS.has(name)) return `connection-specific header ${shown(name)}`;
  if (name === 'te' && value !== 'trailers') return 'te other than "trailers"';
  return null;
}

const EMPTY = Buffer.alloc(0);

/** A header block is read from its first octet to its last; each read checks it stays inside. */
class BlockCursor {
  block: Buffer = EMPTY;
  at = 0;
  end = 0;

  get done(): boolean {
    return this.at >= this.end;
  }

  /** The next octet, not consumed. */
  peek(): number {
    if (this.at >= this.end) throw new Error('header block ends inside a field');
    return this.block[this.at]!;
  }

  /** RFC 7541 5.1: an integer in the low `prefixBits` of the current octet and what follows. */
  int(prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let value = this.peek() & max;
    this.at++;
    if (value < max) return value;
    for (let shift = 0; ; shift += 7) {
      // Five continuation octets already exceed any size or index this server accepts.
      if (shift > 28) throw new Error('integer over 2^35');
      const octet = this.peek();
      this.at++;
      value += (octet & 0x7f) * 2 ** shift;
      if ((octet & 0x80) === 0) return value;
    }
  }

  /** RFC 7541 5.2: a string literal, raw or Huffman-coded, as latin1 (one code unit per octet). */
  string(): string {
    const huffman = (this.peek() & 0x80) !== 0;
    const length = this.int(7);
    if (length > this.end - this.at) throw new Error('string literal runs past the header block');
    const start = this.at;
    this.at += length;
    if (huffman) return decodeHuffman(this.block, start, this.at);
    return this.block.toString('latin1', start, this.at);
  }
}


/** Decodes a connection's request header blocks; its table mirrors the client's encoder. */
export class HeaderDecoder {
  private readonly table = new HeaderTable(HEADER_TABLE_SIZE);
  private readonly cursor = new BlockCursor();

  /**
   * The header list of one block. A block HPACK cannot follow is a connection error
   * (COMPRESSION_ERROR); `fieldError` is set for a well-encoded but malformed list, which only
   * the stream pays for.
   */
  decode(block: Buffer): DecodedBlock {
    const input = this.cursor;
    input.block = block;
    input.at = 0;
    input.end = block.length;
    const headers = new RequestHeaders();
    let fieldError: string | null = null;
    let count = 0;
    let listSize = 0;
    let regularSeen = false;
    try {
      while (!input.done) {
        const first = input.peek();
        let name: string;
        let value: string;
        if (first & 0x80) {
          // Indexed field.
          const index = input.int(7);
          name = this.table.name(index);
          value = this.table.value(index);
        } else if (first & 0x40) {
          // Literal with incremental indexing.
          name = this.literalName(6);
          value = input.string();
          this.table.add(name, value);
        } else if (first & 0x20) {
          // RFC 7541 4.2: size updates only come before the first field of a block.
          if (count > 0) throw new Error('dynamic table size update after a header field');
          this.table.resize(input.int(5));
          continue;
        } else {
          // Without indexing or never indexed: both are kept out of the table alike.
          name = this.literalName(4);
          value = input.string();
        }
        count++;
        listSize += name.length + value.length + 32;
        if (listSize > MAX_HEADER_LIST) throw new Error('decoded header list too large');
        if (fieldError) continue;
        fieldError = malformedField(name, value, regularSeen, headers);
        if (name.charCodeAt(0) !== 0x3a) regularSeen = true;
        headers.add(name, value);
      }
    } catch (err) {
      throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, `HPACK decoding failed: ${(err as Error).message}`);
    } finally {
      input.block = EMPTY;
    }
    return new DecodedBlock(headers, listSize, fieldError);
  }

  private literalName(prefixBits: number): string {
    const index = this.cursor.int(prefixBits);
    return index === 0 ? this.cursor.string() : this.table.name(index);
  }
}

export class DecodedBlock {
  constructor(
    readonly headers: RequestHeaders,
    /** The list's size as RFC 7541 counts it, held against the connection's bounds. */
    readonly size: number,
    readonly fieldError: string | null,
  ) {}
}
