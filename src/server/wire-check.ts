import { isUtf8 } from 'node:buffer';
import { invalidArgument } from '../errors.js';
import type { FieldSchema, FieldType, MessageSchema, ScalarKind } from './proto-schema.js';

/**
 * Checks a request's bytes against its message schema before the generated decoder sees them.
 * That decoder is lenient where leniency changes what a request means: it skips a known field
 * sent with the wrong wire type (the field silently takes its default), stops at a zero tag or
 * an end-group tag and reads the rest of a sub-message as fields of its parent, replaces bytes
 * that are not UTF-8, truncates 64-bit varints into 32-bit fields, keeps enum numbers nobody
 * knows, and lets the last of two copies of a sub-message replace the first instead of merging.
 * Each of these is refused here, with the field's path, so the caller gets INVALID_ARGUMENT.
 *
 * Unknown fields with a well-formed encoding are accepted: newer clients may send them.
 */

const MAX_DEPTH = 32;
/** High word bounds of a 64-bit varint holding a safe JS integer (|v| <= 2^53-1). */
const SAFE_HI_POSITIVE = 0x20_0000;
const SAFE_HI_NEGATIVE = 0xffe0_0000;

const VARINT_KINDS = new Set<ScalarKind>(['int32', 'uint32', 'int64', 'uint64', 'sint32', 'sint64', 'bool']);
const FIXED64_KINDS = new Set<ScalarKind>(['fixed64', 'sfixed64', 'double']);
const FIXED32_KINDS = new Set<ScalarKind>(['fixed32', 'sfixed32', 'float']);

class Cursor {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** Reads a varint as its low and high 32-bit words; at most 10 bytes, as the format allows. */
  varint(path: string): { lo: number; hi: number } {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw invalidArgument(`malformed request: ${path}: truncated varint`);
      const b = this.buf[this.pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if ((b & 0x80) === 0) {
        if (i === 9 && b > 1) throw invalidArgument(`malformed request: ${path}: varint longer than 64 bits`);
        return { lo: lo >>> 0, hi: hi >>> 0 };
      }
    }
    throw invalidArgument(`malformed request: ${path}: varint longer than 10 bytes`);
  }

  skip(n: number, path: string): void {
    if (n > this.end - this.pos) throw invalidArgument(`malformed request: ${path}: truncated (needs ${n} bytes, ${this.end - this.pos} left)`);
    this.pos += n;
  }

  length(path: string): number {
    const { lo, hi } = this.varint(path);
    if (hi !== 0 || lo > this.end - this.pos) throw invalidArgument(`malformed request: ${path}: length runs past the end of the message`);
    return lo;
  }
}

function checkVarint(kind: ScalarKind | 'enum', lo: number, hi: number, path: string, field: FieldType): void {
  switch (kind) {
    case 'bool':
      if (hi !== 0 || lo > 1) throw invalidArgument(`malformed request: ${path}: bool must be 0 or 1`);
      return;
    case 'uint32':
      if (hi !== 0) throw invalidArgument(`out of range: ${path}: does not fit uint32`);
      return;
    case 'int32':
    case 'enum': {
      const fits = (hi === 0 && lo < 0x8000_0000) || (hi === 0xffff_ffff && lo >= 0x8000_0000);
      if (!fits) throw invalidArgument(`out of range: ${path}: does not fit int32`);
      if (kind === 'enum' && field.kind === 'enum') {
        const value = lo | 0;
        if (!field.values.has(value)) throw invalidArgument(`invalid value: ${path}: ${value} is not a known ${field.name} value`);
      }
      return;
    }
    case 'sint32':
      if (hi !== 0) throw invalidArgument(`out of range: ${path}: does not fit sint32`);
      return;
    case 'int64': {
      const fits = hi < SAFE_HI_POSITIVE || hi > SAFE_HI_NEGATIVE || (hi === SAFE_HI_NEGATIVE && lo > 0);
      if (!fits) throw invalidArgument(`out of range: ${path}: ${BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo))} is beyond 2^53-1 in magnitude`);
      return;
    }
    case 'uint64':
    case 'sint64':
      if (hi >= SAFE_HI_POSITIVE * (kind === 'sint64' ? 2 : 1)) throw invalidArgument(`out of range: ${path}: beyond 2^53-1 in magnitude`);
      return;
    default:
      return;
  }
}

function expectedWireType(type: FieldType): number {
  if (type.kind !== 'scalar') return type.kind === 'enum' ? 0 : 2;
  if (VARINT_KINDS.has(type.scalar)) return 0;
  if (FIXED64_KINDS.has(type.scalar)) return 1;
  if (FIXED32_KINDS.has(type.scalar)) return 5;
  return 2;
}

function checkPacked(c: Cursor, length: number, type: FieldType, path: string): void {
  const sub = new Cursor(c.buf, c.pos, c.pos + length);
  const wire = expectedWireType(type);
  while (sub.pos < sub.end) {
    if (wire === 0) {
      const { lo, hi } = sub.varint(path);
      checkVarint(type.kind === 'enum' ? 'enum' : (type as { scalar: ScalarKind }).scalar, lo, hi, path, type);
    } else sub.skip(wire === 1 ? 8 : 4, path);
  }
  c.pos = sub.end;
}

function checkValue(c: Cursor, wire: number, type: FieldType, path: string, depth: number): void {
  switch (wire) {
    case 0: {
      const { lo, hi } = c.varint(path);
      checkVarint(type.kind === 'enum' ? 'enum' : (type as { scalar: ScalarKind }).scalar, lo, hi, path, type);
      return;
    }
    case 1:
      c.skip(8, path);
      return;
    case 5:
      c.skip(4, path);
      return;
    default: {
      const length = c.length(path);
      if (type.kind === 'message') checkMessage(c.buf, c.pos, c.pos + length, type.message, path, depth + 1);
      else if (type.kind === 'map') checkMapEntry(c, length, type, path, depth + 1);
      else if (type.kind === 'scalar' && type.scalar === 'string') {
        if (!isUtf8(c.buf.subarray(c.pos, c.pos + length))) throw invalidArgument(`malformed request: ${path}: string is not valid UTF-8`);
      }
      c.pos += length;
    }
  }
}

function checkMapEntry(c: Cursor, length: number, type: Extract<FieldType, { kind: 'map' }>, path: string, depth: number): void {
  const entry: MessageSchema = {
    name: 'map entry',
    fields: new Map<number, FieldSchema>([
      [1, { name: 'key', number: 1, repeated: false, type: { kind: 'scalar', scalar: type.key } }],
      [2, { name: 'value', number: 2, repeated: false, type: type.value }],
    ]),
  };
  checkMessage(c.buf, c.pos, c.pos + length, entry, path, depth);
  if (type.key === 'string') {
    // A key the decoder's plain-object map would swallow instead of storing.
    const key = mapKey(c.buf, c.pos, c.pos + length);
    if (key === '__proto__') throw invalidArgument(`invalid value: ${path}: "__proto__" is not a usable key`);
  }
}

/** The last key of a map entry (the one the decoder keeps), or undefined. */
function mapKey(buf: Uint8Array, start: number, end: number): string | undefined {
  const c = new Cursor(buf, start, end);
  let key: string | undefined;
  while (c.pos < c.end) {
    const { lo: tag } = c.varint('key');
    const wire = tag & 7;
    if (wire === 2) {
      const n = c.length('key');
      if (tag >>> 3 === 1) key = Buffer.from(buf.buffer, buf.byteOffset + c.pos, n).toString('utf8');
      c.pos += n;
    } else if (wire === 0) c.varint('key');
    else c.skip(wire === 1 ? 8 : 4, 'key');
  }
  return key;
}

function skipUnknown(c: Cursor, wire: number, path: string): void {
  switch (wire) {
    case 0:
      c.varint(path);
      return;
    case 1:
      c.skip(8, path);
      return;
    case 2: {
      const length = c.length(path);
      c.pos += length;
      return;
    }
    case 5:
      c.skip(4, path);
      return;
    default:
      throw invalidArgument(`malformed request: ${path}: wire type ${wire} is not allowed`);
  }
}

function checkMessage(buf: Uint8Array, start: number, end: number, schema: MessageSchema, path: string, depth: number): void {
  if (depth > MAX_DEPTH) throw invalidArgument(`malformed request: ${path}: nested deeper than ${MAX_DEPTH}`);
  const c = new Cursor(buf, start, end);
  let seenMessages: Set<number> | undefined;
  while (c.pos < c.end) {
    const { lo: tag, hi } = c.varint(path || 'message');
    const number = tag >>> 3;
    const wire = tag & 7;
    if (hi !== 0 || number === 0 || number >= 0x2000_0000) throw invalidArgument(`malformed request: ${path || 'message'}: invalid field number`);
    const field = schema.fields.get(number);
    const fieldPath = path ? `${path}.${field?.name ?? number}` : (field?.name ?? String(number));
    if (!field) {
      skipUnknown(c, wire, fieldPath);
      continue;
    }
    const expected = expectedWireType(field.type);
    if (wire === expected) {
      if (!field.repeated && field.type.kind === 'message') {
        seenMessages ??= new Set();
        if (seenMessages.has(number)) throw invalidArgument(`malformed request: ${fieldPath}: given twice`);
        seenMessages.add(number);
      }
      checkValue(c, wire, field.type, fieldPath, depth);
    } else if (wire === 2 && field.repeated && expected !== 2) {
      checkPacked(c, c.length(fieldPath), field.type, fieldPath);
    } else {
      throw invalidArgument(`malformed request: ${fieldPath}: wire type ${wire}, expected ${expected}`);
    }
  }
  if (c.pos !== end) throw invalidArgument(`malformed request: ${path || 'message'}: runs past its end`);
}

/** Throws INVALID_ARGUMENT when `bytes` is not a faithful encoding of `schema`. */
export function checkWire(bytes: Uint8Array, schema: MessageSchema): void {
  checkMessage(bytes, 0, bytes.length, schema, '', 0);
}

