import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { getSystemErrorName } from 'node:util';
import { CricketError, exhaustion } from '../errors.js';
import { syscalls } from '../process/syscalls.js';

export interface AtomicWriteOptions {
  mode?: number;
  /** Also fsync the directory, so the rename itself survives a power loss. */
  syncDir?: boolean;
  /**
   * fsync the new content before the rename (the default). Without it the file is still whole
   * after a crash of cricket, whose writes the kernel holds; only a power loss can take the
   * newest version back.
   */
  fsync?: boolean;
}

/**
 * Write-temp, fsync, rename: after a crash the file holds either the old or the new content,
 * never a torn mix. A failed write (a full disk) removes its temp file and leaves the old
 * content in place; the error names the file, since write(2)'s own message does not.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const sys = syscalls();
  if (sys) {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    await sys.replaceFile(path, tmp, bytes, opts.mode ?? 0o600, opts.fsync !== false, opts.syncDir === true).catch((err: unknown) => {
      throw writeError(path, withErrnoName(err));
    });
    return;
  }
  try {
    const handle = await open(tmp, 'w', opts.mode ?? 0o600);
    try {
      await handle.writeFile(data);
      if (opts.fsync !== false) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw writeError(path, err);
  }
  if (opts.syncDir) {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/**
 * writeFileAtomic through a spare file instead of a new one: the content goes into `spare`, which
 * then trades places with `path`, so no inode is made or freed (see rewriteFile in the addon).
 * True when `spare` still exists afterwards, holding the previous content, ready for another
 * write; false when it became `path`, or when the addon is missing and a temp file was used.
 */
export async function rewriteFileAtomic(path: string, data: string | Uint8Array, spare: string, opts: Omit<AtomicWriteOptions, 'syncDir'> = {}): Promise<boolean> {
  const sys = syscalls();
  if (!sys) {
    await writeFileAtomic(path, data, opts);
    return false;
  }
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return sys.rewriteFile(path, spare, bytes, opts.mode ?? 0o600, opts.fsync !== false).catch((err: unknown) => {
    throw writeError(path, withErrnoName(err));
  });
}

/** The addon's errors carry the errno as a number in text; Node's carry its name, as callers expect. */
function withErrnoName(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const errno = Number((err as NodeJS.ErrnoException).code);
  if (!Number.isInteger(errno) || errno <= 0) return err;
  const code = getSystemErrorName(-errno);
  return Object.assign(err, { code, errno: -errno, message: `${code}: ${err.message}` });
}

function writeError(path: string, err: unknown): unknown {
  const short = exhaustion(err);
  if (!short) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return new CricketError('resource-exhausted', `writing ${path}: ${short}${code ? ` (${code})` : ''}`, { cause: err });
}
