/**
 * Protobuf's wire format, written by hand where the generated encoder would build objects on a
 * path kubelet calls every second or two (status timestamps, the kept list items, the stats
 * reply). Field numbers come from the callers, which name them after the CRI proto.
 */
const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Writes protobuf fields into one growing buffer; nested messages get their length when they end. */
export class ProtoWriter {
  private buf: Buffer;
  private at = 0;
  /** The last value split into halves, and its halves (-1n's to begin with). */
  private splitValue = -1n;
  private splitLow = 0xffff_ffff;
  private splitHigh = 0xffff_ffff;

  constructor(size = 4096) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** A field holding a message: call `end` with the returned mark once its fields are written. */
  begin(): number {
    return this.at;
  }

  end(field: number, mark: number): void {
    const length = this.at - mark;
    const head = varintSize(field * 8 + WIRE_LEN) + varintSize(length);
    this.room(head);
    this.buf.copyWithin(mark + head, mark, this.at);
    const after = this.at + head;
    this.at = mark;
    this.varint(field * 8 + WIRE_LEN);
    this.varint(length);
    this.at = after;
  }

  /** A uint64 or int64 field, left out when 0 (proto3). */
  int64(field: number, value: bigint): void {
    if (value === 0n) return;
    this.varint(field * 8 + WIRE_VARINT);
    this.uint64(value);
  }

  /** A UInt64Value message field: present even when its value is 0. */
  uint64Value(field: number, value: bigint): void {
    const mark = this.begin();
    this.int64(1, value);
    this.end(field, mark);
  }

  string(field: number, value: string): void {
    if (value === '') return;
    const length = Buffer.byteLength(value, 'utf8');
    this.varint(field * 8 + WIRE_LEN);
    this.varint(length);
    this.room(length);
    this.at += this.buf.write(value, this.at, 'utf8');
  }

  /** A field holding `bytes` as they are (an encoded message, or a string's octets). */
  bytes(field: number, bytes: Uint8Array): void {
    this.varint(field * 8 + WIRE_LEN);
    this.varint(bytes.length);
    this.room(bytes.length);
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }

  /** What is written, as a view of the writer's own buffer: for a writer used once. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  /** What is written, copied into memory of its own (never a slice of a shared pool); the writer starts over. */
  take(): Uint8Array {
    const out = new Uint8Array(this.at);
    out.set(this.buf.subarray(0, this.at));
    this.at = 0;
    return out;
  }

  /** A non-negative integer below 2^53. */
  private varint(value: number): void {
    this.room(8);
    while (value >= 0x80) {
      this.buf[this.at++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buf[this.at++] = value;
  }

  private uint64(value: bigint): void {
    if (value >= 0n && value <= MAX_SAFE) {
      this.varint(Number(value));
      return;
    }
    // Split once into 32-bit halves: a bigint operation per 7 bits would make a bigint each. A
    // reading's timestamp is written three times in a row: its halves are kept.
    if (value !== this.splitValue) {
      const unsigned = BigInt.asUintN(64, value);
      this.splitValue = value;
      this.splitLow = Number(unsigned & 0xffff_ffffn);
      this.splitHigh = Number(unsigned >> 32n);
    }
    let low = this.splitLow;
    let high = this.splitHigh;
    this.room(10);
    while (high > 0 || low >= 0x80) {
      this.buf[this.at++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | ((high & 0x7f) << 25)) >>> 0;
      high >>>= 7;
    }
    this.buf[this.at++] = low;
  }

  private room(n: number): void {
    if (this.buf.length - this.at >= n) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }
}

function varintSize(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    n++;
  }
  return n;
}
