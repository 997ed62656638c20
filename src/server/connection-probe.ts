/**
 * Decides, per CRI connection, whether the gRPC server may read the socket itself or needs the
 * `:authority` front (authority.ts).
 *
 * The front is a JavaScript stream between the socket and Node's HTTP/2 session, so every frame
 * of every call crosses JavaScript twice. A client whose first header block already carries an
 * authority nghttp2 accepts (kubelet since 1.31, grpc-js) does not need it: the probe reads that
 * far, then hands the socket and the bytes read so far to the HTTP/2 session, which consumes the
 * socket natively from then on.
 *
 * Go clients send no request before the server's connection preface (a SETTINGS frame), and the
 * HTTP/2 session sends that only once it has the connection. So the probe sends an empty
 * SETTINGS frame itself when the connection opens and takes the client's acknowledgement of it
 * out of the byte stream; the session later sends its own SETTINGS, which the client
 * acknowledges to it as usual.
 */
import {
  acceptableFirstBlock,
  FLAG_END_HEADERS,
  FLAG_PADDED,
  FLAG_PRIORITY,
  FRAME_HEADER_LEN,
  Http2FrontError,
  MAX_BLOCK_FRAMES,
  MAX_HEADER_BLOCK,
  PREFACE,
  TYPE_CONTINUATION,
  TYPE_HEADERS,
} from './authority.js';

const TYPE_SETTINGS = 0x4;
const FLAG_ACK = 0x1;

/** An empty SETTINGS frame on stream 0: the server's connection preface. */
export const EMPTY_SETTINGS = Buffer.from([0, 0, 0, TYPE_SETTINGS, 0, 0, 0, 0, 0]);

/** Client bytes the probe holds at most before it gives the connection to the front. */
export const MAX_PROBE_BYTES = MAX_HEADER_BLOCK + 64 * 1024;

/**
 * 'direct': the gRPC server reads the socket; 'front': the connection needs rewriting (or could not be
 * judged); 'more': keep reading. `bytes` is what was read, without the acknowledgement.
 */
export type ProbeDecision = 'direct' | 'front' | 'more';

export class ConnectionProbe {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Offset in the joined bytes of the first frame not yet looked at. */
  private scanned = PREFACE.length;
  private ackTaken = false;
  private firstBlock: 'none' | 'started' | 'plain' | 'rewrite' = 'none';

  /** Whether the client has begun its first header block (a request is on its way). */
  get requestStarted(): boolean {
    return this.firstBlock !== 'none';
  }

  /** Whether the client's connection preface has arrived whole. */
  get prefaceComplete(): boolean {
    return this.size >= PREFACE.length;
  }

  /** Whether the client acknowledged the probe's SETTINGS. */
  get acknowledged(): boolean {
    return this.ackTaken;
  }

  /** What was read, minus the acknowledgement: the bytes the next reader must get first. */
  bytes(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
  }

  /** Throws Http2FrontError when the input is not an HTTP/2 client's. */
  feed(chunk: Buffer): ProbeDecision {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > MAX_PROBE_BYTES) return 'front';
    let all = this.bytes();
    this.chunks = [all];
    const prefaceSeen = Math.min(all.length, PREFACE.length);
    if (all.compare(PREFACE, 0, prefaceSeen, 0, prefaceSeen) !== 0) {
      throw new Http2FrontError('client did not send the HTTP/2 connection preface');
    }
    while (this.scanned + FRAME_HEADER_LEN <= all.length && !this.decided) {
      const at = this.scanned;
      const length = all.readUIntBE(at, 3);
      const type = all[at + 3]!;
      const flags = all[at + 4]!;
      const stream = all.readUInt32BE(at + 5) & 0x7fffffff;
      if (type === TYPE_SETTINGS && flags & FLAG_ACK && !this.ackTaken) {
        if (length !== 0 || stream !== 0) throw new Http2FrontError('malformed SETTINGS acknowledgement');
        all = Buffer.concat([all.subarray(0, at), all.subarray(at + FRAME_HEADER_LEN)]);
        this.chunks = [all];
        this.size = all.length;
        this.ackTaken = true;
        continue;
      }
      if (type === TYPE_HEADERS && (this.firstBlock === 'none' || this.firstBlock === 'started')) {
        this.firstBlock = 'started';
        const block = this.headerBlockAt(all, at);
        if (!block) break;
        this.firstBlock = acceptableFirstBlock(block.fragment) ? 'plain' : 'rewrite';
        this.scanned = block.end;
        continue;
      }
      if (at + FRAME_HEADER_LEN + length > all.length) break;
      this.scanned = at + FRAME_HEADER_LEN + length;
    }
    if (!this.decided) return 'more';
    return this.firstBlock === 'plain' ? 'direct' : 'front';
  }

  private get decided(): boolean {
    return this.ackTaken && (this.firstBlock === 'plain' || this.firstBlock === 'rewrite');
  }

  /** The first header block starting at `at`, when all of its frames are here. */
  private headerBlockAt(all: Buffer, at: number): { fragment: Buffer; end: number } | undefined {
    const parts: Buffer[] = [];
    let pos = at;
    let wire = 0;
    for (let frames = 0; ; frames++) {
      if (frames >= MAX_BLOCK_FRAMES) throw new Http2FrontError(`first header block spans more than ${MAX_BLOCK_FRAMES} frames`);
      if (pos + FRAME_HEADER_LEN > all.length) return undefined;
      const length = all.readUIntBE(pos, 3);
      const type = all[pos + 3]!;
      const flags = all[pos + 4]!;
      wire += FRAME_HEADER_LEN + length;
      if (wire > MAX_HEADER_BLOCK) throw new Http2FrontError(`first header block exceeds ${MAX_HEADER_BLOCK} bytes`);
      if (frames > 0 && type !== TYPE_CONTINUATION) throw new Http2FrontError(`expected CONTINUATION, got frame type ${type}`);
      if (pos + FRAME_HEADER_LEN + length > all.length) return undefined;
      let payload = all.subarray(pos + FRAME_HEADER_LEN, pos + FRAME_HEADER_LEN + length);
      if (frames === 0) {
        let start = 0;
        let stop = payload.length;
        if (flags & FLAG_PADDED) {
          if (stop < 1) throw new Http2FrontError('PADDED HEADERS frame without pad length');
          stop -= payload[0]!;
          start = 1;
        }
        if (flags & FLAG_PRIORITY) start += 5;
        if (stop < start) throw new Http2FrontError('HEADERS frame too short for its padding/priority');
        payload = payload.subarray(start, stop);
      }
      parts.push(payload);
      pos += FRAME_HEADER_LEN + length;
      if (flags & FLAG_END_HEADERS) return { fragment: Buffer.concat(parts), end: pos };
    }
  }
}
