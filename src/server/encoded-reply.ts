/**
 * Replies kubelet asks for every second (the pod and container lists) are built from wire bytes
 * kept per record, not encoded afresh on every call: at 100 pods encoding ListContainers took a
 * quarter of a millisecond of the event loop and most of its garbage.
 */
import { PerRecord } from '../store/per-record.js';
import { ProtoWriter } from '../wire/proto-writer.js';
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

/** Writes the kept fields, one at a time within a turn; each is copied out into memory of its own. */
const fieldWriter = new ProtoWriter(256);

/** `item` as the message field `field` of a message: the tag (wire type 2), the length, the bytes. */
export function messageField(field: number, item: Uint8Array): Uint8Array {
  // Memory of its own, not a slice of Node's shared buffer pool: these bytes live as long as
  // their record, and a pool slice would keep the whole pool chunk alive with them.
  fieldWriter.bytes(field, item);
  return fieldWriter.take();
}

/** A varint field (wire type 0) of a 64-bit value taken as unsigned, e.g. a timestamp in ns; left out when 0, as proto3 does. */
export function varintField(field: number, value: bigint): Uint8Array {
  fieldWriter.int64(field, value);
  return fieldWriter.take();
}

/** A message made of fields already in wire form, sent as they are: never joined into one buffer. */
export function messageOfFields(fields: readonly Uint8Array[]): GatheredBody {
  let size = 0;
  for (const field of fields) size += field.length;
  return new GatheredBody(fields, size);
}
