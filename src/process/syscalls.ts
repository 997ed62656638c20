import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** native/cricket-syscalls.c: system calls Node 20 does not offer. */
export interface Syscalls {
  execve(path: string, argv: string[], env: string[]): never;
  pidfdOpen(pid: number): number;
  pidfdSendSignal(fd: number, signo: number): void;
  /** posix_spawn; fds[i] becomes the child's fd i (-1: /dev/null); argv includes argv[0]. */
  spawn(path: string, argv: string[], env: string[], cwd: string | null, fds: number[], setsid: boolean): Promise<number>;
  pipe(): [number, number];
  /** undefined while running; else [exit code or -1, signal number or 0]. */
  waitNoHang(pid: number): [number, number] | undefined;
  /** mount(2) on a thread-pool thread; null where the kernel takes NULL. */
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): Promise<void>;
  /** A new network namespace, loopback up, bind-mounted on the existing file `target`. */
  pinNewNetns(target: string): Promise<void>;
  /** umount2(2) on a thread-pool thread. */
  umount(target: string, flags: number): Promise<void>;
  /** A close-on-exec memfd with the file's bytes, sealed against any change. */
  sealedCopy(path: string): number;
  /**
   * Writes `bytes` to the new file `tmp` (mode before umask), fsyncs it if asked, renames it over
   * `path`, fsyncs the directory if asked: one thread-pool job. `tmp` is gone after a failure.
   */
  replaceFile(path: string, tmp: string, bytes: Uint8Array, mode: number, fsync: boolean, syncDir: boolean): Promise<void>;
  /**
   * replaceFile without a new inode: writes `bytes` into `spare` (made when missing; reused only
   * as root's regular file with one link), then exchanges it with `path`. True when `spare` still
   * exists, holding the previous content; false when it became `path` (which did not exist).
   */
  rewriteFile(path: string, spare: string, bytes: Uint8Array, mode: number, fsync: boolean): Promise<boolean>;
  /** Sets ext4's top-directory flag (chattr +T) on a directory; false where the file system has none. */
  markTopDir(path: string): boolean;
  /** malloc_trim(0): free C-heap pages go back to the kernel; true when some did. */
  mallocTrim(): boolean;
}

const ADDON = fileURLToPath(new URL('../../../build/native/cricket-syscalls.node', import.meta.url));

let loaded: { syscalls?: Syscalls; error?: string } | undefined;

/** The addon, loaded once; undefined (with the reason in syscallsError) when it cannot be. */
export function syscalls(): Syscalls | undefined {
  if (!loaded) {
    try {
      loaded = { syscalls: createRequire(import.meta.url)(ADDON) as Syscalls };
    } catch (err) {
      loaded = { error: err instanceof Error ? err.message : String(err) };
    }
  }
  return loaded.syscalls;
}

export function syscallsError(): string | undefined {
  return loaded?.error;
}
