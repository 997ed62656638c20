/**
 * Cuts a client's byte stream into HTTP/2 frames: the connection preface first, then frames of
 * at most the size this server advertised. A payload that arrives whole is handed over as a
 * slice of its chunk; one spread over chunks is gathered into one buffer of its announced size.
 */
import { ConnectionError, ErrorCode, FRAME_HEADER_LEN, FrameType, PREFACE } from './frames.js';

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

const EMPTY = Buffer.alloc(0);

export class FrameReader {
  private prefaceLeft = PREFACE.length;
  /** Handed out for every frame that lies whole in a chunk: `onFrame` may not keep it. */
  private readonly whole: Frame = { type: 0, flags: 0, streamId: 0, payload: EMPTY };
  private readonly head = Buffer.alloc(FRAME_HEADER_LEN);
  private headLen = 0;
  private current: Frame | null = null;
  private gathered = 0;

  constructor(
    private readonly maxFrame: number,
    /** Sees every completed frame, in order; the object is reused after it returns. */
    private readonly onFrame: (frame: Frame) => void,
  ) {}

  /**
   * True while the preface, a frame header, or a HEADERS or CONTINUATION frame is only partly
   * received: nothing can be served on the connection until it is whole. (A partial DATA frame
   * is a slow upload, which the request limits bound instead.)
   */
  get midHeader(): boolean {
    if (this.prefaceLeft > 0 || this.headLen > 0) return true;
    const type = this.current?.type;
    return type === FrameType.HEADERS || type === FrameType.CONTINUATION;
  }

  /** Feeds one chunk. */
  push(chunk: Buffer): void {
    let i = 0;
    const end = chunk.length;
    if (this.prefaceLeft > 0) {
      const take = Math.min(this.prefaceLeft, end);
      const at = PREFACE.length - this.prefaceLeft;
      if (chunk.compare(PREFACE, at, at + take, 0, take) !== 0) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'client did not send the HTTP/2 connection preface');
      }
      this.prefaceLeft -= take;
      i = take;
    }
    while (i < end) {
      if (this.current) {
        const frame = this.current;
        const take = Math.min(frame.payload.length - this.gathered, end - i);
        chunk.copy(frame.payload, this.gathered, i, i + take);
        this.gathered += take;
        i += take;
        if (this.gathered < frame.payload.length) return;
        this.current = null;
        this.onFrame(frame);
        continue;
      }
      let head: Buffer;
      let at: number;
      if (this.headLen === 0 && end - i >= FRAME_HEADER_LEN) {
        head = chunk;
        at = i;
        i += FRAME_HEADER_LEN;
      } else {
        const take = Math.min(FRAME_HEADER_LEN - this.headLen, end - i);
        chunk.copy(this.head, this.headLen, i, i + take);
        this.headLen += take;
        i += take;
        if (this.headLen < FRAME_HEADER_LEN) return;
        this.headLen = 0;
        head = this.head;
        at = 0;
      }
      const length = head.readUIntBE(at, 3);
      if (length > this.maxFrame) {
        throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes is over the advertised ${this.maxFrame}`);
      }
      const type = head[at + 3]!;
      const flags = head[at + 4]!;
      const streamId = head.readUInt32BE(at + 5) & 0x7fff_ffff;
      if (end - i >= length) {
        const whole = this.whole;
        whole.type = type;
        whole.flags = flags;
        whole.streamId = streamId;
        whole.payload = chunk.subarray(i, i + length);
        i += length;
        try {
          this.onFrame(whole);
        } finally {
          whole.payload = EMPTY; // not to pin the chunk
        }
        continue;
      }
      this.current = { type, flags, streamId, payload: Buffer.allocUnsafe(length) };
      this.gathered = 0;
    }
  }
}
