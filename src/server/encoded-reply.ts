/**
 * Replies kubelet asks for every second (the pod and container lists) are built from wire bytes
 * kept per record, not encoded afresh on every call: at 100 pods encoding ListContainers took a
 * quarter of a millisecond of the event loop and most of its garbage.
 */

/** A reply already in wire form; strictDefinition's serializer passes it through as it is. */
export class EncodedReply {
  constructor(readonly bytes: Buffer) {}
}

/**
 * A reply of type T given as its wire bytes. The handler types of the generated service want a
 * T; the serializer is the only reader of the value and knows this form.
 */
export function encodedReply<T>(bytes: Buffer): T {
  return new EncodedReply(bytes) as unknown as T;
}

/**
 * The wire form of one list item per record, kept for as long as the record exists. Records are
 * frozen and replaced whole on every change, so a record's bytes never go stale; the entry goes
 * with the record.
 */
export class ItemEncodings<R extends object> {
  private readonly bytes = new WeakMap<R, Uint8Array>();

  constructor(private readonly encode: (record: R) => Uint8Array) {}

  of(record: R): Uint8Array {
    let bytes = this.bytes.get(record);
    if (!bytes) {
      bytes = this.encode(record);
      this.bytes.set(record, bytes);
    }
    return bytes;
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

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/**
 * `items` as a message holding them in its repeated message field `field`: for each, the field's
 * tag (wire type 2, length-delimited), the item's length and its bytes.
 */
export function repeatedMessageField(field: number, items: readonly Uint8Array[]): Buffer {
  const tag = field * 8 + 2;
  let size = 0;
  for (const item of items) size += varintLength(tag) + varintLength(item.length) + item.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const item of items) {
    at = writeVarint(out, at, tag);
    at = writeVarint(out, at, item.length);
    out.set(item, at);
    at += item.length;
  }
  return out;
}
