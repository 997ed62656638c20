import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * Absolute path of a program, looked up in PATH like a shell would. conmon insists on an
 * absolute runtime path, and failing at start-up beats failing at the first pod.
 */
export function findProgram(name: string): string {
  const candidates = isAbsolute(name)
    ? [name]
    : (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here; try the next directory.
    }
  }
  throw new Error(`${name} not found (looked in ${isAbsolute(name) ? name : 'PATH'}); install it or set its path in the config`);
}
