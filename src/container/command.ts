import { invalidArgument } from '../errors.js';
import type { ImageConfig } from '../image/types.js';

/**
 * Kubernetes' rule: `command` replaces the image's Entrypoint and drops its Cmd; `args` alone
 * replaces Cmd and keeps the Entrypoint.
 */
export function containerArgs(image: ImageConfig, command: string[], args: string[]): string[] {
  const result = command.length > 0
    ? [...command, ...args]
    : [...image.entrypoint, ...(args.length > 0 ? args : image.cmd)];
  if (result.length === 0) throw invalidArgument('no command: neither the request nor the image gives one');
  return result;
}

/** Image variables first, the request's override them by name; PATH is always set. */
export function containerEnv(image: ImageConfig, envs: { key: string; value: string }[], hostname: string): string[] {
  const merged = new Map<string, string>();
  merged.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  merged.set('HOSTNAME', hostname);
  for (const entry of image.env) {
    const eq = entry.indexOf('=');
    if (eq > 0) merged.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  for (const { key, value } of envs) {
    if (!key) throw invalidArgument('environment variable with an empty name');
    merged.set(key, value);
  }
  return [...merged].map(([k, v]) => `${k}=${v}`);
}
