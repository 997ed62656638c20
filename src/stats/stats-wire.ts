/**
 * ListContainerStats in wire form. kubelet asks for every container's stats every few seconds;
 * built as objects and encoded by the generated code, a reply at 100 containers made some 300 KB
 * of garbage, most of the daemon's young-generation collections in a relist. Here each
 * container's attributes are kept as bytes per version of its record, and the reply is written
 * straight into one buffer, readings and kept bytes one container after another.
 *
 * Field numbers are those of the CRI proto (api.proto): ContainerStats, CpuUsage, MemoryUsage,
 * FilesystemUsage, UInt64Value, FilesystemIdentifier. Fields are written in number order except
 * the attributes, which follow the readings: protobuf readers take fields in any order.
 */
const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** One container's readings, as the stats reply carries them. */
export interface ContainerReadings {
  /** When they were taken, ns since the epoch. */
  at: bigint;
  cpuNs: bigint;
  nanoCores: bigint;
  workingSet: bigint;
  memoryUsage: bigint;
  rss: bigint;
  pageFaults: bigint;
  majorPageFaults: bigint;
  diskBytes: bigint;
  diskInodes: bigint;
  mountpoint: string;
}

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

  /** Bytes as they are, inside the message being written. */
  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }

  /** What is written, as a view of the writer's own buffer: for a writer used once. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  /** What is written, copied out; the writer starts over. */
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

const CONTAINER_STATS_ATTRIBUTES = 1;
const CONTAINER_STATS_CPU = 2;
const CONTAINER_STATS_MEMORY = 3;
const CONTAINER_STATS_WRITABLE_LAYER = 4;

/** ContainerStats.attributes as a field, from the encoded ContainerAttributes: kept per record. */
export function attributesField(writer: ProtoWriter, attributes: Uint8Array): Uint8Array {
  writer.bytes(CONTAINER_STATS_ATTRIBUTES, attributes);
  return writer.take();
}

/**
 * One ContainerStats as `field` of its reply (ListContainerStatsResponse.stats is 1): its
 * readings, then its attributes as the field attributesField made, kept for its record.
 */
export function containerStatsField(writer: ProtoWriter, field: number, readings: ContainerReadings, attributes: Uint8Array): void {
  const { at } = readings;
  const item = writer.begin();
  const cpu = writer.begin();
  writer.int64(1, at);
  writer.uint64Value(2, readings.cpuNs);
  writer.uint64Value(3, readings.nanoCores);
  writer.end(CONTAINER_STATS_CPU, cpu);
  const memory = writer.begin();
  writer.int64(1, at);
  writer.uint64Value(2, readings.workingSet);
  writer.uint64Value(4, readings.memoryUsage);
  writer.uint64Value(5, readings.rss);
  writer.uint64Value(6, readings.pageFaults);
  writer.uint64Value(7, readings.majorPageFaults);
  writer.end(CONTAINER_STATS_MEMORY, memory);
  const layer = writer.begin();
  writer.int64(1, at);
  const fsId = writer.begin();
  writer.string(1, readings.mountpoint);
  writer.end(2, fsId);
  writer.uint64Value(3, readings.diskBytes);
  writer.uint64Value(4, readings.diskInodes);
  writer.end(CONTAINER_STATS_WRITABLE_LAYER, layer);
  writer.raw(attributes);
  writer.end(field, item);
}
