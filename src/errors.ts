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
  | 'resource-exhausted'
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

export const resourceExhausted = (message: string, cause?: unknown): CricketError =>
  new CricketError('resource-exhausted', message, cause === undefined ? undefined : { cause });

/** Wraps an error with the step that failed, keeping its kind when it already has one. */
export function withContext(context: string, err: unknown): CricketError {
  if (err instanceof CricketError) {
    const kind = err.kind === 'internal' && exhaustion(err) ? 'resource-exhausted' : err.kind;
    return new CricketError(kind, `${context}: ${err.message}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CricketError(exhaustion(err) ? 'resource-exhausted' : 'internal', `${context}: ${message}`, { cause: err });
}

/**
 * errno codes that mean the node ran out of something (space, quota, file descriptors): no
 * request is wrong, and the same request succeeds once the operator frees some.
 */
const EXHAUSTION_CODES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files in the daemon',
  ENFILE: 'too many open files on the node',
};

/**
 * How external programs (runc, conmon, mount, CNI plugins) spell the same conditions, and how
 * errors that lost their code on the way (a failed spawn, "spawn EMFILE") still name it.
 */
const EXHAUSTION_TEXT = /no space left on device|disk quota exceeded|too many open files|\b(ENOSPC|EDQUOT|EMFILE|ENFILE)\b/i;

/**
 * Looks through an error, its `cause` chain and the members of an AggregateError for the sign
 * of an exhausted resource: an errno code, or a tool's stderr saying so. Returns what ran out
 * ("no space left on device") or undefined.
 */
export function exhaustion(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length && seen.size < 32) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null || seen.has(e)) continue;
    seen.add(e);
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && Object.hasOwn(EXHAUSTION_CODES, code)) return EXHAUSTION_CODES[code];
    if (e instanceof CricketError && e.kind === 'resource-exhausted') return 'resource exhausted';
    const message = (e as Error).message;
    const text = typeof message === 'string' ? EXHAUSTION_TEXT.exec(message) : null;
    if (text) return text[1] ? EXHAUSTION_CODES[text[1].toUpperCase()] : text[0].toLowerCase();
    queue.push((e as Error).cause);
    if (e instanceof AggregateError) queue.push(...e.errors);
  }
  return undefined;
}

/** True for a Node system error with the given code (ENOENT, EEXIST, ...). */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}
