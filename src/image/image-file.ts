import { constants, lstatSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { CricketError, failedPrecondition, isErrno, withContext } from '../errors.js';
import { findInLayers } from './layers.js';

/** Files cricket reads out of an image (/etc/passwd, /etc/group) are small; more is refused. */
export const MAX_IMAGE_FILE_BYTES = 4 * 1024 * 1024;

const kindOf = (st: Stats): string =>
  st.isFIFO() ? 'a FIFO'
    : st.isCharacterDevice() ? 'a character device'
    : st.isBlockDevice() ? 'a block device'
    : st.isSocket() ? 'a socket'
    : st.isSymbolicLink() ? 'a symbolic link'
    : st.isDirectory() ? 'a directory'
    : 'not a regular file';

/**
 * Reads a file of an image (`relPath` as the container would see it, e.g. "etc/group") from its
 * unpacked layers, bottom to top. Symlinks are resolved inside the image as a chroot would
 * (findInLayers), never on the host. Only a regular file of at most `maxBytes` is read: a FIFO
 * would block the reading thread for ever, a device could be anything. The file is opened
 * without following a link and without blocking, and checked again on the open descriptor.
 * Undefined when the image has no such file.
 */
export async function readImageFile(layerDirs: readonly string[], relPath: string, maxBytes = MAX_IMAGE_FILE_BYTES): Promise<Buffer | undefined> {
  const shown = `/${relPath.replace(/^\/+/, '')}`;
  const path = findInLayers(layerDirs, relPath);
  if (path === undefined) return undefined;
  const refuse = (why: string) => failedPrecondition(`image file ${shown}: ${why}`);
  try {
    const before = lstatSync(path);
    if (!before.isFile()) throw refuse(`${kindOf(before)}, not a regular file; refusing to read it`);
    let handle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (err) {
      if (isErrno(err, 'ELOOP')) throw refuse('is a symbolic link; refusing to follow it');
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
    try {
      const st = await handle.stat();
      if (!st.isFile() || st.ino !== before.ino || st.dev !== before.dev) throw refuse('changed while it was opened; refusing to read it');
      if (st.size > maxBytes) throw refuse(`${st.size} bytes is more than the ${maxBytes} allowed`);
      // Read at most one byte past the cap: a file growing after fstat is still bounded.
      const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got > maxBytes) throw refuse(`more than the ${maxBytes} bytes allowed`);
      return buf.subarray(0, got);
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof CricketError) throw err;
    if (isErrno(err, 'ENOENT')) return undefined;
    throw withContext(`reading ${shown} of the image`, err);
  }
}
