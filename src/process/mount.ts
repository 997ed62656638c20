import { nativeTool } from './native-tools.js';
import { run } from './run.js';
import { syscalls } from './syscalls.js';

/**
 * mount(2) and friends. Overlay and bind mounts, unmounts and a pod's new network namespace
 * are system calls made by the daemon itself (the addon, on a thread-pool thread) when the
 * addon is there; the rest, and
 * everything without the addon, goes through native/cricket-mount: a static program that starts
 * several times faster than util-linux's mount, umount and unshare.
 */
const TIMEOUT_MS = 30_000;

const mountTool = (args: string[], cwd?: string) => run(nativeTool('cricket-mount'), args, { timeoutMs: TIMEOUT_MS, cwd });

// The kernel's flag bits (linux/mount.h), facts of its ABI.
const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_REMOUNT = 0x20;
const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MNT_DETACH = 0x2;

/** A new network namespace pinned on the existing file `path`. */
export async function pinNewNetns(path: string): Promise<void> {
  const sys = syscalls();
  if (sys) await sys.pinNewNetns(path);
  else await mountTool(['netns', path]);
}

/** A tmpfs named `source` on `target`, without set-id programs, device files or executables. */
export async function mountTmpfs(source: string, target: string, options: string): Promise<void> {
  const sys = syscalls();
  if (sys) await sys.mount(source, target, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, options);
  else await mountTool(['tmpfs', source, target, options]);
}

/** Overlay mount; relative lowerdirs in `options` are resolved against `cwd`. */
export async function mountOverlay(target: string, options: string, cwd?: string): Promise<void> {
  // Relative lowerdirs need a working directory of their own: the daemon's is shared.
  const sys = cwd === undefined ? syscalls() : undefined;
  if (sys) await sys.mount('overlay', target, 'overlay', 0, options);
  else await mountTool(['overlay', target, options], cwd);
}

export async function bindMount(source: string, target: string, readonly: boolean): Promise<void> {
  const sys = syscalls();
  if (!sys) {
    await mountTool(readonly ? ['bind', source, target, 'ro'] : ['bind', source, target]);
    return;
  }
  await sys.mount(source, target, null, MS_BIND | MS_REC, null);
  if (!readonly) return;
  // The first call ignores MS_RDONLY for a bind: read-only takes a remount.
  await sys.mount(null, target, null, MS_REMOUNT | MS_BIND | MS_RDONLY, null).catch(async (err: unknown) => {
    await sys.umount(target, MNT_DETACH).catch(() => undefined);
    throw err;
  });
}

/** Unmounts `path`; `lazy` detaches it even while it is busy. */
export async function unmount(path: string, lazy = false): Promise<void> {
  const sys = syscalls();
  if (sys) await sys.umount(path, lazy ? MNT_DETACH : 0);
  else await mountTool(lazy ? ['umount', path, 'lazy'] : ['umount', path]);
}

/** An idmapped bind of `source` on `target`: ids shifted by the user namespace file `userns`. */
export async function idmapMount(source: string, target: string, userns: string): Promise<void> {
  await mountTool(['idmap', source, target, userns]);
}
