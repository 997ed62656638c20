/**
 * The header blocks of gRPC answers, HPACK-encoded without the dynamic table (static-table
 * references and literals that are never indexed), so the server keeps no encoder state and the
 * constant blocks are built once.
 */

/** RFC 7541 5.1: an integer with an N-bit prefix, the prefix's high bits set to `high`. */
function pushInt(out: number[], value: number, prefixBits: number, high: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(high | value);
    return;
  }
  out.push(high | max);
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

function pushString(out: number[], text: string): void {
  const bytes = Buffer.from(text, 'latin1');
  pushInt(out, bytes.length, 7, 0x00); // H = 0: no Huffman coding
  for (const b of bytes) out.push(b);
}

/** Literal field without indexing, with a literal name. */
function literal(out: number[], name: string, value: string): void {
  out.push(0x00);
  pushString(out, name);
  pushString(out, value);
}

/** Static-table index of `:status: 200` and of the name `content-type`. */
const STATUS_200 = 8;
const CONTENT_TYPE_NAME = 31;

function responseFields(out: number[]): void {
  pushInt(out, STATUS_200, 7, 0x80);
  pushInt(out, CONTENT_TYPE_NAME, 4, 0x00);
  pushString(out, 'application/grpc');
  literal(out, 'grpc-accept-encoding', 'identity,gzip,deflate');
}

function statusFields(out: number[], code: number, message: string): void {
  literal(out, 'grpc-status', String(code));
  literal(out, 'grpc-message', message);
}

/** `:status` 200 and the gRPC content type: the head of every answer. */
export const RESPONSE_HEADERS: Buffer = (() => {
  const out: number[] = [];
  responseFields(out);
  return Buffer.from(out);
})();

/** Trailers of an answer that ends well. */
export const OK_TRAILERS: Buffer = trailersBlock(0, '');

/** Trailers carrying a call's status; `message` is already percent-encoded (grpc-framing.ts). */
export function trailersBlock(code: number, message: string): Buffer {
  const out: number[] = [];
  statusFields(out, code, message);
  return Buffer.from(out);
}

/** A trailers-only answer: the head and the status in one block. */
export function trailersOnlyBlock(code: number, message: string): Buffer {
  const out: number[] = [];
  responseFields(out);
  statusFields(out, code, message);
  return Buffer.from(out);
}

/** An HTTP-level refusal (405, 415) with no gRPC fields. */
export function httpStatusBlock(statusCode: number): Buffer {
  const out: number[] = [];
  // `:status` has static entries for 200 204 206 304 400 404 500 only: name-indexed literal.
  pushInt(out, STATUS_200, 4, 0x00);
  pushString(out, String(statusCode));
  return Buffer.from(out);
}
