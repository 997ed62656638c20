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
 * runc's words for a process the request named but the image cannot run (a missing or
 * non-executable command, a working directory that is a file). The request is at fault, not
 * cricket, so such a tool failure is INVALID_ARGUMENT even when the caller left it unclassified.
 */
const BAD_PROCESS = /unable to start container process: (?:exec: .*: (?:executable file not found in \$PATH|no such file or directory|permission denied|is a directory|not a directory)|error during container init: error setting cwd)/;

/**
 * runc's words when the container changed state between cricket's check and runc's action (a
 * StartContainer, ExecSync or UpdateContainerResources racing the process's exit, a StopContainer
 * or another StartContainer): the container is no longer in the state the call needs.
 */
const WRONG_STATE = /cannot start a container that has stopped|cannot start an already running container|cannot exec in a stopped container|msg="container not running"/;

/**
 * The kernel refusing a cgroup value the request asked for, as runc reports it: a value this node
 * cannot take (a CPU it does not have) is the request's fault; a memory limit below what the
 * container already uses depends on the container's state.
 */
const CGROUP_VALUE_REFUSED = /failed to write .*: (?:invalid argument|numerical result out of range)/;
// runc 1.0 passes the kernel's EBUSY on; 1.1 replaces it with the usage it found.
const CGROUP_VALUE_BUSY = /failed to write .*memory[^:]*: device or resource busy|unable to set memory limit to \d+ \(current usage: \d+/;

/** A peer cricket had to reach (a registry) could not be reached: the caller may retry. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH']);

function unreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (UNREACHABLE.has((e as NodeJS.ErrnoException).code ?? '')) return true;
  }
  return false;
}

function codeOf(err: CricketError): status {
  if (err.kind !== 'internal') return CODES[err.kind];
  if (BAD_PROCESS.test(err.message)) return status.INVALID_ARGUMENT;
  if (WRONG_STATE.test(err.message)) return status.FAILED_PRECONDITION;
  if (CGROUP_VALUE_BUSY.test(err.message)) return status.FAILED_PRECONDITION;
  if (CGROUP_VALUE_REFUSED.test(err.message)) return status.INVALID_ARGUMENT;
  if (unreachable(err)) return status.UNAVAILABLE;
  return status.INTERNAL;
}

/**
 * Maps any error to a gRPC status with a message an operator can act on. An error that was not
 * given a kind but comes from a full disk, a quota or the file-descriptor limit (seen anywhere
 * in its cause chain, or in a tool's stderr) is RESOURCE_EXHAUSTED, not INTERNAL: kubelet and
 * people then know to free something rather than to report a bug.
 */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const message = err instanceof Error ? err.message : String(err);
  let code = err instanceof CricketError ? codeOf(err) : unreachable(err) ? status.UNAVAILABLE : status.INTERNAL;
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
