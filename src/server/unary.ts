import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { logger, stopwatch } from '../log/logger.js';
import { recordRpc } from '../metrics/rpc-recorder.js';
import { toServiceError } from './status-codes.js';

/**
 * Adapts an async handler to the server's unary form: its result is the reply, a thrown error becomes a gRPC
 * status, and every call leaves one log line with its duration.
 */
export function unary<Req, Res>(method: string, handler: (request: Req) => Promise<Res> | Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const elapsed = stopwatch();
    let code = 0;
    Promise.resolve()
      .then(() => handler(call.request))
      .then(
        (reply) => {
          logger.debug({ rpc: method, ms: elapsed() }, 'rpc done');
          callback(null, reply);
        },
        (err: unknown) => {
          const serviceError = toServiceError(err);
          code = serviceError.code ?? 2;
          logger.warn({ rpc: method, ms: elapsed(), code: serviceError.code, error: serviceError.details }, 'rpc failed');
          callback(serviceError);
        },
      )
      .finally(() => recordRpc(method, elapsed(), code));
  };
}
