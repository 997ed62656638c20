import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * Absolute path of a program, looked up in PATH like a shell would. conmon insists on an
 * absolute runtime path, and failing at start-up beats failing at the first pod. PATH entries
 * that are not absolute ("", ".", "bin") are passed over: they name whatever directory the
 * daemon is in, and a program root runs from there is one any writer of it chose.
 */
export function findProgram(name: string, path = process.env.PATH): string {
  const candidates = isAbsolute(name)
    ? [name]
    : (path ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).filter((dir) => isAbsolute(dir)).map((dir) => join(dir, name));
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
