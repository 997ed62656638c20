import { readFileSync } from 'node:fs';
import { release } from 'node:os';

export interface UserNamespaceSupport {
  supported: boolean;
  /** Why not, or what carries the pod's ids when supported. */
  reason: string;
}

/** Overlayfs takes idmapped lower layers from Linux 5.19 on; the pods' rootfs needs that. */
const MIN_KERNEL: [number, number] = [5, 19];

let cached: UserNamespaceSupport | undefined;

/**
 * Whether pods with their own user namespace (hostUsers: false) can run on this node: the
 * kernel must allow user namespaces and idmapped overlay layers. The runc here (1.1) cannot
 * make idmapped mounts; cricket makes them itself (native/cricket-mount), so runc's version
 * does not matter. For the `userNamespaces` feature of Status' runtime handlers.
 */
export function userNamespaceSupport(): UserNamespaceSupport {
  cached ??= probe();
  return cached;
}

function probe(): UserNamespaceSupport {
  const [major = 0, minor = 0] = release().split(/[.-]/).map((n) => Number.parseInt(n, 10));
  if (major < MIN_KERNEL[0] || (major === MIN_KERNEL[0] && minor < MIN_KERNEL[1])) {
    return { supported: false, reason: `kernel ${release()} has no idmapped overlay layers (needs ${MIN_KERNEL.join('.')} or later)` };
  }
  let max: number;
  try {
    max = Number.parseInt(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8'), 10);
  } catch (err) {
    return { supported: false, reason: `user namespaces unavailable: ${(err as Error).message}` };
  }
  if (!(max > 0)) return { supported: false, reason: 'user.max_user_namespaces is 0' };
  return { supported: true, reason: `kernel ${release()}: user namespaces and idmapped mounts (made by cricket; runc 1.1 makes none)` };
}
