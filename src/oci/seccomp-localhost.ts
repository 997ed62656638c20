import { readFileSync } from 'node:fs';
import { invalidArgument, notFound } from '../errors.js';
import type { SeccompProfile } from './seccomp-default.js';

const OCI_SECCOMP_KEYS = ['defaultAction', 'defaultErrnoRet', 'architectures', 'flags', 'listenerPath', 'listenerMetadata', 'syscalls'];

/** A Localhost seccomp profile from the node's file, reduced to the keys runc knows. */
export function loadLocalhostSeccomp(path: string): SeccompProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw notFound(`seccomp profile ${path}: ${(err as Error).message}`);
  }
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
