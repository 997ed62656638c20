import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { invalidArgument, notFound } from '../errors.js';
import type { SeccompProfile } from './seccomp-default.js';

const OCI_SECCOMP_KEYS = ['defaultAction', 'defaultErrnoRet', 'architectures', 'flags', 'listenerPath', 'listenerMetadata', 'syscalls'];

/** A Localhost seccomp profile from the node's file, reduced to the keys runc knows. */
export function loadLocalhostSeccomp(path: string): SeccompProfile {
  const text = readProfile(path);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw invalidArgument(`seccomp profile ${path} is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed.defaultAction !== 'string') throw invalidArgument(`seccomp profile ${path} has no defaultAction`);
  // Docker-format profiles carry extra keys (archMap, includes/excludes) runc does not know.
  const profile: Record<string, unknown> = {};
  for (const key of OCI_SECCOMP_KEYS) if (parsed[key] !== undefined) profile[key] = parsed[key];
  return profile as unknown as SeccompProfile;
}

/** Profiles are small; a larger file is refused rather than read. */
const MAX_PROFILE_BYTES = 1024 * 1024;

/**
 * Reads the profile without ever blocking: opened non-blocking (a FIFO put there would otherwise
 * hold the event loop), checked on the open descriptor to be a regular file, read up to the cap.
 */
function readProfile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw notFound(`seccomp profile ${path}: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw invalidArgument(`seccomp profile ${path} is not a regular file`);
    if (st.size > MAX_PROFILE_BYTES) throw invalidArgument(`seccomp profile ${path} is larger than ${MAX_PROFILE_BYTES} bytes`);
    const buf = Buffer.alloc(Math.min(st.size, MAX_PROFILE_BYTES) + 1);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    if (got > MAX_PROFILE_BYTES) throw invalidArgument(`seccomp profile ${path} is larger than ${MAX_PROFILE_BYTES} bytes`);
    return buf.subarray(0, got).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
