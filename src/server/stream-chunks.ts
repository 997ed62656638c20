import type { ServerWritableStream } from '@grpc/grpc-js';
import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import { logger, stopwatch } from '../log/logger.js';
import { toServiceError } from './status-codes.js';

/**
 * Bounds of one message of a Stream* list call. kubelet accepts 16 MiB and grpc-js clients 4 MiB
 * by default: a chunk stays far under both whatever the records hold.
 */
export const STREAM_CHUNK_MAX_ITEMS = 200;
export const STREAM_CHUNK_MAX_BYTES = 2 * 1024 * 1024;

/** Bytes one element of a repeated message field takes on the wire: tag, length, body. */
function fieldBytes(bodyLength: number): number {
  let varint = 1;
  for (let n = bodyLength; n >= 0x80; n >>>= 7) varint++;
  return 1 + varint + bodyLength;
}

/** The wire size of an item as a field of its reply, by encoding it. */
export function encodedFieldSize<T>(encode: (item: T) => BinaryWriter): (item: T) => number {
  return (item) => fieldBytes(encode(item).finish().length);
}

/**
 * Splits `items` into runs that each fit STREAM_CHUNK_MAX_ITEMS and STREAM_CHUNK_MAX_BYTES on the
 * wire (`sizeOf`: an item's bytes as a field of the reply). An item alone over the byte bound
 * still goes, by itself: it cannot be split.
 */
export function chunkBySize<T>(items: readonly T[], sizeOf: (item: T) => number, maxItems = STREAM_CHUNK_MAX_ITEMS, maxBytes = STREAM_CHUNK_MAX_BYTES): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= maxItems || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * A server-streaming twin of a List* call: the list is gathered as the unary call would, then sent
 * in bounded chunks, waiting for the client to drain each one and stopping when it goes away.
 * No items: no message, as the stream's end alone says the list is empty.
 */
export function streamList<Req, Res, T>(
  method: string,
  list: (request: Req) => Promise<readonly T[]> | readonly T[],
  sizeOf: (item: T) => number,
  wrap: (chunk: T[]) => Res,
) {
  return (call: ServerWritableStream<Req, Res>): void => {
    const elapsed = stopwatch();
    let gone = false;
    call.on('cancelled', () => (gone = true));
    Promise.resolve()
      .then(() => list(call.request))
      .then(async (items) => {
        const chunks = chunkBySize(items, sizeOf);
        for (const chunk of chunks) {
          if (gone) return;
          if (!call.write(wrap(chunk))) await new Promise<void>((resolve) => {
            const done = () => {
              call.off('drain', done);
              call.off('cancelled', done);
              resolve();
            };
            call.on('drain', done);
            call.on('cancelled', done);
          });
        }
        if (!gone) call.end();
        logger.debug({ rpc: method, ms: elapsed(), items: items.length, messages: chunks.length }, 'rpc done');
      })
      .catch((err: unknown) => {
        const serviceError = toServiceError(err);
        logger.warn({ rpc: method, ms: elapsed(), code: serviceError.code, error: serviceError.details }, 'rpc failed');
        if (!gone) call.emit('error', serviceError);
      });
  };
}
