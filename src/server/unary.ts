import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { logger, msSince } from '../log/logger.js';
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
  const done = (started: number, reply: Res, callback: sendUnaryData<Res>): void => {
    const ms = msSince(started);
    if (logger.isLevelEnabled('debug')) logger.debug({ rpc: method, ms }, 'rpc done');
    recordRpc(method, ms, 0);
    callback(null, reply);
  };
  const failed = (started: number, err: unknown, callback: sendUnaryData<Res>): void => {
    const ms = msSince(started);
    const serviceError = toServiceError(err);
    logger.warn({ rpc: method, ms, code: serviceError.code, error: serviceError.details }, 'rpc failed');
    recordRpc(method, ms, serviceError.code ?? 2);
    callback(serviceError);
  };
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const started = performance.now();
    let result: Promise<Res> | Res;
    try {
      result = handler(call.request);
    } catch (err) {
      failed(started, err, callback);
      return;
    }
    // Only a call that waits pays for the closures that finish it later.
    if (isPromiseLike(result)) {
      result.then(
        (reply) => done(started, reply, callback),
        (err: unknown) => failed(started, err, callback),
      );
    } else {
      done(started, result, callback);
    }
  };
}
