import type {
  sendUnaryData,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { CricketError, invalidArgument } from '../errors.js';
import { logger } from '../log/logger.js';
import { criSchema } from './proto-schema.js';
import type { RequestChecks } from './request-checks.js';
import { toServiceError } from './status-codes.js';
import { checkWire } from './wire-check.js';
import { EncodedReply } from './encoded-reply.js';
import type { MessageBody } from './grpc-framing.js';

/**
 * A request the server could not accept as bytes. A throwing deserializer would be answered with
 * INTERNAL, so the deserializer returns this instead and the handler answers INVALID_ARGUMENT.
 */
class MalformedRequest {
  constructor(readonly error: CricketError) {}
}

/**
 * The generated service definition with a deserializer that first checks the bytes against the
 * proto (wire-check.ts) and never throws, and a serializer that sends a reply already in wire
 * form (encoded-reply.ts) as it is.
 */
export function strictDefinition<D extends ServiceDefinition>(definition: D, serviceName: string): D {
  const methods = criSchema().services.get(serviceName);
  if (!methods) throw new Error(`proto has no service ${serviceName}`);
  const strict: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(definition)) {
    const name = method.path.slice(method.path.lastIndexOf('/') + 1);
    const schema = methods.get(name);
    if (!schema) throw new Error(`proto has no method ${serviceName}.${name}`);
    const decode = method.requestDeserialize;
    const encode = method.responseSerialize;
    strict[key] = {
      ...method,
      responseSerialize: (value: unknown): MessageBody => (value instanceof EncodedReply ? value.body : encode(value)),
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          checkWire(bytes, schema);
          return decode(bytes);
        } catch (err) {
          const error = err instanceof CricketError ? err : invalidArgument(`malformed request: ${(err as Error).message}`);
          return new MalformedRequest(error);
        }
      },
    };
  }
  return strict as D;
}

/**
 * Runs each RPC's request checks (and refuses a malformed request) before its handler; a failed
 * check is the call's INVALID_ARGUMENT answer.
 */
export function withRequestChecks<S extends UntypedServiceImplementation>(
  definition: ServiceDefinition,
  implementation: S,
  checks: RequestChecks<S>,
): S {
  const out: UntypedServiceImplementation = {};
  const table = checks as Record<string, ((request: unknown) => void) | undefined>;
  for (const [key, method] of Object.entries(definition)) {
    const handler = implementation[key];
    if (!handler) continue;
    const check = table[key];
    const refuse = (request: unknown): CricketError | undefined => {
      if (request instanceof MalformedRequest) return request.error;
      try {
        check?.(request);
        return undefined;
      } catch (err) {
        return err instanceof CricketError ? err : invalidArgument((err as Error).message);
      }
    };
    const name = method.path.slice(method.path.lastIndexOf('/') + 1);
    const warn = (error: CricketError) => logger.warn({ rpc: name, error: error.message.slice(0, 500) }, 'request refused');
    if (method.responseStream) {
      const stream = handler as (call: ServerWritableStream<unknown, unknown>) => void;
      out[key] = ((call: ServerWritableStream<unknown, unknown>) => {
        const error = refuse(call.request);
        if (!error) return stream(call);
        warn(error);
        call.emit('error', toServiceError(error));
      }) as UntypedHandleCall;
    } else {
      const unary = handler as (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void;
      out[key] = ((call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const error = refuse(call.request);
        if (!error) return unary(call, callback);
        warn(error);
        callback(toServiceError(error));
      }) as UntypedHandleCall;
    }
  }
  return out as S;
}
