import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { CricketError, exhaustion, type ErrorKind } from '../errors.js';

const CODES: Record<ErrorKind, status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  'already-exists': status.ALREADY_EXISTS,
  'failed-precondition': status.FAILED_PRECONDITION,
  'deadline-exceeded': status.DEADLINE_EXCEEDED,
  unimplemented: status.UNIMPLEMENTED,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  internal: status.INTERNAL,
};

/**
 * Maps any error to a gRPC status with a message an operator can act on. An error that was not
 * given a kind but comes from a full disk, a quota or the file-descriptor limit (seen anywhere
 * in its cause chain, or in a tool's stderr) is RESOURCE_EXHAUSTED, not INTERNAL: kubelet and
 * people then know to free something rather than to report a bug.
 */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const message = err instanceof Error ? err.message : String(err);
  let code = err instanceof CricketError ? CODES[err.kind] : status.INTERNAL;
  let details = message;
  if (code === status.INTERNAL) {
    const what = exhaustion(err);
    if (what) {
      code = status.RESOURCE_EXHAUSTED;
      if (!message.toLowerCase().includes(what)) details = `${message} (${what})`;
    }
  }
  return { code, details, metadata: new Metadata() };
}
