import { closeSync } from 'node:fs';
import { rename, symlink } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { syscalls } from '../process/syscalls.js';

/**
 * A bundle whose config.json is, for now, a link to the read end of a pipe cricket holds
 * (`/proc/<cricket>/fd/<n>`). runc 1.x opens and decodes config.json once, as `runc create`
 * begins, after its own start-up: started on such a bundle, it does that start-up while the
 * rootfs is mounted and the spec computed, then blocks reading the pipe until the spec is fed.
 *
 * The pipe lives only in cricket's fd table: if cricket dies, the link names nothing or the pipe
 * ends, and the runtime fails at once instead of waiting on it (a named FIFO would keep it
 * waiting). The caller writes the spec as a file too, beside the link (PENDING_SPEC), before it
 * feeds the pipe, so that a full disk fails the call as clearly as it always did; once the
 * runtime has reported, `finish()` puts that file in the link's place, for the tools that read
 * the bundle later.
 */

/** Where the spec's file waits, in the bundle, while config.json is the link to the pipe. */
export const PENDING_SPEC = '.config.json.pending';

export interface SpecPipe {
  /** Writes the whole spec into the pipe; resolves once every byte is in it. */
  feed(spec: string): Promise<void>;
  /** Closes the write end: a runtime waiting for its spec reads end of file and fails. */
  endFeed(): void;
  /**
   * Closes both ends. Only once the runtime has ended or has read its spec: until then the read
   * end's number must stay taken, or a file opened later under that number could be read.
   */
  close(): void;
  /** After the runtime has read its spec: closes the pipe, renames PENDING_SPEC to config.json. */
  finish(): Promise<void>;
}

/** The spec pipe for `bundle`, or undefined where the addon that makes pipes is missing. */
export async function openSpecPipe(bundle: string): Promise<SpecPipe | undefined> {
  const sys = syscalls();
  if (!sys) return undefined;
  const [readEnd, writeEnd] = sys.pipe();
  // libuv owns the write end from here (non-blocking, written as the runtime drains it), so a spec
  // larger than the pipe's buffer never blocks a thread.
  const writer = new Socket({ fd: writeEnd, readable: false, writable: true });
  writer.on('error', () => undefined);
  let readOpen = true;
  const close = (): void => {
    writer.destroy();
    if (readOpen) closeSync(readEnd);
    readOpen = false;
  };
  try {
    await symlink(`/proc/${process.pid}/fd/${readEnd}`, join(bundle, 'config.json'));
  } catch (err) {
    close();
    throw err;
  }
  return {
    feed: (spec) =>
      new Promise<void>((resolve, reject) => {
        if (writer.destroyed) {
          reject(new Error(`the spec pipe of ${bundle} is closed`));
          return;
        }
        writer.write(spec, (err) => (err ? reject(err) : resolve()));
      }),
    endFeed: () => writer.destroy(),
    close,
    finish: async () => {
      close();
      await rename(join(bundle, PENDING_SPEC), join(bundle, 'config.json'));
    },
  };
}
