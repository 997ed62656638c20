import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { CricketError, type ErrorKind } from '../errors.js';

const CODES: Record<ErrorKind, status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  'already-exists': status.ALREADY_EXISTS,
  'failed-precondition': status.FAILED_PRECONDITION,
  'deadline-exceeded': status.DEADLINE_EXCEEDED,
  unimplemented: status.UNIMPLEMENTED,
  internal: status.INTERNAL,
};

/** Maps any error to a gRPC status with a message an operator can act on. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof CricketError) {
    return { code: CODES[err.kind], details: err.message, metadata: new Metadata() };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: message, metadata: new Metadata() };
}
