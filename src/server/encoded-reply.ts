/**
 * Replies kubelet asks for every second (the pod and container lists) are built from wire bytes
 * kept per record, not encoded afresh on every call: at 100 pods encoding ListContainers took a
 * quarter of a millisecond of the event loop and most of its garbage.
 */
import { PerRecord } from '../store/per-record.js';
import { GatheredBody, type MessageBody } from './grpc-framing.js';

/** A reply already in wire form; strictDefinition's serializer passes it through as it is. */
export class EncodedReply {
  constructor(readonly body: MessageBody) {}
}

/**
 * A reply of type T given as its wire bytes. The handler types of the generated service want a
 * T; the serializer is the only reader of the value and knows this form.
 */
export function encodedReply<T>(body: MessageBody): T {
  return new EncodedReply(body) as unknown as T;
}

/**
 * The wire form of one list item per record, kept for as long as the record exists: the item as
 * a field of the list reply (its tag, length and bytes), so that a reply is these parts as they
 * are. Records are frozen and replaced whole on every change, so a record's bytes never go stale;
 * the entry goes with the record.
 */
export class ItemEncodings<R extends object> {
  private readonly bytes: PerRecord<R, Uint8Array>;

  constructor(field: number, encode: (record: R) => Uint8Array) {
    this.bytes = new PerRecord((record: R) => messageField(field, encode(record)));
  }

  of(record: R): Uint8Array {
    return this.bytes.of(record);
  }
}

/** Protobuf's base-128 varint, as written before a length-delimited field. */
function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

function writeVarint(out: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/** `item` as the message field `field` of a message: the tag (wire type 2), the length, the bytes. */
export function messageField(field: number, item: Uint8Array): Uint8Array {
  const tag = field * 8 + 2;
  // Memory of its own, not a slice of Node's shared buffer pool: these bytes live as long as
  // their record, and a pool slice would keep the whole pool chunk alive with them.
  const out = new Uint8Array(varintLength(tag) + varintLength(item.length) + item.length);
  let at = writeVarint(out, 0, tag);
  at = writeVarint(out, at, item.length);
  out.set(item, at);
  return out;
}

/** A field's tag and a 64-bit varint take at most 5 + 10 octets. */
const varintScratch = new Uint8Array(15);

/**
 * A varint field (wire type 0) of a 64-bit value taken as unsigned, e.g. a timestamp in ns.
 * Written from two 32-bit halves: a loop of bigint operations makes a bigint per step.
 */
export function varintField(field: number, value: bigint): Uint8Array {
  const unsigned = BigInt.asUintN(64, value);
  let low = Number(unsigned & 0xffff_ffffn);
  let high = Number(unsigned >> 32n);
  let at = writeVarint(varintScratch, 0, field * 8);
  while (high > 0 || low >= 0x80) {
    varintScratch[at++] = (low & 0x7f) | 0x80;
    low = ((low >>> 7) | ((high & 0x7f) << 25)) >>> 0;
    high >>>= 7;
  }
  varintScratch[at++] = low;
  return varintScratch.slice(0, at);
}

/** A message made of fields already in wire form, sent as they are: never joined into one buffer. */
export function messageOfFields(fields: readonly Uint8Array[]): GatheredBody {
  let size = 0;
  for (const field of fields) size += field.length;
  return new GatheredBody(fields, size);
}
