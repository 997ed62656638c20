import { posix } from 'node:path';
import { invalidArgument } from '../errors.js';

/**
 * Checks of single request fields, shared by the request validators. Each throws
 * INVALID_ARGUMENT naming the field; none allocates for a valid value, so List and Status calls
 * stay cheap.
 */

/** Largest uid/gid: 2^32-1 is (uid_t)-1, which setuid/setgid read as "no change". */
export const MAX_UNIX_ID = 0xffff_fffen;

/** A string that ends up in a path, argument, environment or file must not hide a NUL. */
export function checkText(value: string, path: string, max: number): void {
  if (value.length > max) throw invalidArgument(`${path} is longer than ${max} characters`);
  if (value.includes('\0')) throw invalidArgument(`${path} contains a NUL byte`);
}

/** Text that lands in a line-oriented file (resolv.conf, sysctl values): no control characters. */
export function checkLine(value: string, path: string, max: number): void {
  checkText(value, path, max);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) throw invalidArgument(`${path} contains a control character`);
}

export function checkCount(items: { length: number }, path: string, max: number): void {
  if (items.length > max) throw invalidArgument(`${path} has ${items.length} entries, more than ${max}`);
}

export function checkTexts(values: readonly string[], path: string, maxCount: number, maxEach: number): void {
  checkCount(values, path, maxCount);
  for (let i = 0; i < values.length; i++) checkText(values[i]!, `${path}[${i}]`, maxEach);
}

/** An id of a pod or container: required, short, no NUL. */
export function checkId(value: string, path: string): void {
  if (!value) throw invalidArgument(`${path} is required`);
  checkText(value, path, 256);
}

/** An optional id in a filter. */
export function checkOptionalId(value: string, path: string): void {
  if (value) checkText(value, path, 256);
}

export interface MapLimits {
  entries: number;
  key: number;
  value: number;
  /** Bound on the sum of all keys and values. */
  total: number;
}

export function checkStringMap(map: Readonly<Record<string, string>>, path: string, limits: MapLimits): void {
  let entries = 0;
  let total = 0;
  for (const key in map) {
    const value = map[key]!;
    if (++entries > limits.entries) throw invalidArgument(`${path} has more than ${limits.entries} entries`);
    if (!key) throw invalidArgument(`${path} has an empty key`);
    checkText(key, `${path} key`, limits.key);
    checkText(value, `${path}["${key.slice(0, 64)}"]`, limits.value);
    total += key.length + value.length;
    if (total > limits.total) throw invalidArgument(`${path} is larger than ${limits.total} characters in all`);
  }
}

/** A uid or gid as the kernel takes it: 0 to 2^32-2. */
export function checkUnixId(value: bigint, path: string): void {
  if (value < 0n || value > MAX_UNIX_ID) throw invalidArgument(`${path} ${value} is not a uid/gid (0-${MAX_UNIX_ID})`);
}

/** An absolute path, lexically normal (no ".", "..", "//" or trailing "/"), without NUL. */
export function checkAbsoluteNormal(value: string, path: string, max = 4096): void {
  checkText(value, path, max);
  if (!value.startsWith('/')) throw invalidArgument(`${path} "${value}" is not absolute`);
  if (posix.normalize(value) !== value || (value.length > 1 && value.endsWith('/'))) {
    throw invalidArgument(`${path} "${value}" is not a normalized path`);
  }
}

/** An absolute path without NUL; "..", "." and repeated slashes are left to the kernel. */
export function checkAbsolute(value: string, path: string, max = 4096): void {
  checkText(value, path, max);
  if (!value.startsWith('/')) throw invalidArgument(`${path} "${value}" is not absolute`);
}

/** A relative path that stays below the directory it is joined to: no "..", no absolute start. */
export function checkRelativeBelow(value: string, path: string, max = 4096): void {
  checkText(value, path, max);
  if (value.startsWith('/')) throw invalidArgument(`${path} "${value}" must be relative`);
  const normal = posix.normalize(value);
  if (normal !== value || value === '.' || value.endsWith('/')) throw invalidArgument(`${path} "${value}" is not a normalized path`);
  if (value.split('/').includes('..')) throw invalidArgument(`${path} "${value}" leaves its directory`);
}

/** A path without ".." components (cgroup parents, sysctl-like names). */
export function checkNoDotDot(value: string, path: string, max = 4096): void {
  checkText(value, path, max);
  if (/(^|\/)\.\.(\/|$)/.test(value)) throw invalidArgument(`${path} "${value}" contains a ".." component`);
}

export function checkPort(value: number, path: string, allowZero: boolean): void {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 65535) {
    throw invalidArgument(`${path} ${value} is not a port (${allowZero ? 0 : 1}-65535)`);
  }
}
