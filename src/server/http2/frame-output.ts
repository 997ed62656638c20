/**
 * A connection's frames waiting for its next socket write, gathered into as few buffers and as
 * few objects as can be. Frame headers and small pieces (HPACK blocks, message prefixes, each
 * record's kept bytes in a list answer) are copied into runs in one slab that every connection
 * writes into, as Node's Buffer pool does: a turn's output is one buffer view, not a buffer per
 * piece. A socket write per piece cost far more: at 100 containers a ListContainers answer is
 * some 200 pieces. A piece of `largePiece` bytes or more is written as it is, never copied.
 */
import type { Socket } from 'node:net';
import { FRAME_HEADER_LEN } from './frames.js';

export const LARGE_PIECE = 16 * 1024;
const SLAB_SIZE = 64 * 1024;

/** The slab being filled; a full one is left to the views that still point into it. */
let slab = Buffer.allocUnsafe(SLAB_SIZE);
let slabUsed = 0;

export class FrameOutput {
  /** Runs and large pieces ready to write, in order. */
  private readonly ready: Uint8Array[] = [];
  /** The run being filled: slab bytes [runStart, runEnd) of `runSlab`. */
  private runSlab: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;

  constructor(private readonly largePiece = LARGE_PIECE) {}

  get empty(): boolean {
    return this.ready.length === 0 && this.runSlab === null;
  }

  /** A frame's 9-octet header, its payload to follow. */
  header(length: number, type: number, flags: number, streamId: number): void {
    const at = this.reserve(FRAME_HEADER_LEN);
    slab[at] = length >>> 16;
    slab[at + 1] = (length >>> 8) & 0xff;
    slab[at + 2] = length & 0xff;
    slab[at + 3] = type;
    slab[at + 4] = flags;
    slab.writeUInt32BE(streamId, at + 5);
  }

  /** Four octets, big-endian (a RST_STREAM code, a WINDOW_UPDATE increment). */
  u32(value: number): void {
    const at = this.reserve(4); // before `slab` is read: reserving may replace it
    slab.writeUInt32BE(value, at);
  }

  bytes(piece: Uint8Array): void {
    if (piece.length === 0) return;
    if (piece.length >= this.largePiece) {
      this.endRun();
      this.ready.push(piece);
      return;
    }
    const at = this.reserve(piece.length);
    slab.set(piece, at);
  }

  /** Writes what is gathered in one go (corked when it is more than one buffer) and starts over. */
  writeTo(socket: Socket): void {
    this.endRun();
    const ready = this.ready;
    if (ready.length === 1) {
      socket.write(ready[0]!);
    } else if (ready.length > 1) {
      socket.cork();
      for (const piece of ready) socket.write(piece);
      socket.uncork();
    }
    ready.length = 0;
  }

  /** Forgets what is gathered. */
  clear(): void {
    this.runSlab = null;
    this.ready.length = 0;
  }

  /** Room for `n` (< the large-piece size) more octets of the current run; returns where. */
  private reserve(n: number): number {
    if (slab.length - slabUsed < n) {
      this.endRun();
      slab = Buffer.allocUnsafe(SLAB_SIZE);
      slabUsed = 0;
    }
    // Another connection wrote into the slab since: the run cannot grow in place.
    if (this.runSlab !== slab || this.runEnd !== slabUsed) {
      this.endRun();
      this.runSlab = slab;
      this.runStart = slabUsed;
    }
    const at = slabUsed;
    slabUsed += n;
    this.runEnd = slabUsed;
    return at;
  }

  private endRun(): void {
    if (this.runSlab === null) return;
    this.ready.push(this.runSlab.subarray(this.runStart, this.runEnd));
    this.runSlab = null;
  }
}
