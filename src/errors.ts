/**
 * Errors that cross a module boundary carry a kind the RPC layer maps to a gRPC status, and
 * the context (pod, container, step, a tool's stderr) an operator needs to act on them.
 */
export type ErrorKind =
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'failed-precondition'
  | 'deadline-exceeded'
  | 'unimplemented'
  | 'internal';

export class CricketError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CricketError';
  }
}

export const invalidArgument = (message: string): CricketError => new CricketError('invalid-argument', message);
export const notFound = (message: string): CricketError => new CricketError('not-found', message);
export const alreadyExists = (message: string): CricketError => new CricketError('already-exists', message);
export const failedPrecondition = (message: string): CricketError =>
  new CricketError('failed-precondition', message);

/** Wraps an error with the step that failed, keeping its kind when it already has one. */
export function withContext(context: string, err: unknown): CricketError {
  if (err instanceof CricketError) {
    return new CricketError(err.kind, `${context}: ${err.message}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CricketError('internal', `${context}: ${message}`, { cause: err });
}

/** True for a Node system error with the given code (ENOENT, EEXIST, ...). */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}
