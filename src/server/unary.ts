import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { logger, stopwatch } from '../log/logger.js';
import { recordRpc } from '../metrics/rpc-recorder.js';
import { toServiceError } from './status-codes.js';

function isPromiseLike<T>(value: Promise<T> | T): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Adapts a handler to the server's unary form: its result is the reply, a thrown error becomes a gRPC
 * status, and every call leaves one log line with its duration.
 *
 * A handler that answers at once (the status and list calls kubelet makes every second) is
 * answered in the same turn as its request was read, so the answer leaves in the same socket
 * write as whatever else that turn sends back (the acknowledgement of the client's PING).
 */
export function unary<Req, Res>(method: string, handler: (request: Req) => Promise<Res> | Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const elapsed = stopwatch();
    const done = (reply: Res): void => {
      const ms = elapsed();
      logger.debug({ rpc: method, ms }, 'rpc done');
      recordRpc(method, ms, 0);
      callback(null, reply);
    };
    const failed = (err: unknown): void => {
      const ms = elapsed();
      const serviceError = toServiceError(err);
      logger.warn({ rpc: method, ms, code: serviceError.code, error: serviceError.details }, 'rpc failed');
      recordRpc(method, ms, serviceError.code ?? 2);
      callback(serviceError);
    };
    let result: Promise<Res> | Res;
    try {
      result = handler(call.request);
    } catch (err) {
      failed(err);
      return;
    }
    if (isPromiseLike(result)) result.then(done, failed);
    else done(result);
  };
}
