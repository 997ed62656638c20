import { constants, fstatSync, openSync, closeSync, unlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { checkProcess, type ProcessStart } from '../process/identity.js';

/** How often the waiting container's init is looked at while its fifo stays silent. */
const LIVENESS_INTERVAL_MS = 100;

/** What came of a start through the exec fifo. */
export type ExecFifoStart =
  /** The container's process runs: its init wrote to the fifo and exec'd. */
  | 'started'
  /**
   * Nothing was started here: there is no fifo (the container is not waiting), it is not a fifo,
   * or its init ended without writing. `runc start` then decides and gives runc's own answer.
   */
  | 'not-waiting';

/**
 * Starts a container that `runc create` left waiting. Its init blocks opening
 * `<root>/<id>/exec.fifo` for writing until a reader opens it, writes a byte and execs the
 * container's process; `runc start` is a whole Go program that does only that, so reading the
 * fifo here spares one program run on every StartContainer. runc takes the fifo's presence to
 * mean "created", so it is removed once read, as `runc start` removes it.
 *
 * The read end is opened without blocking and waited on with epoll: a reader that opened before
 * init's writer sees no end of file until a writer has come and gone, so there is no window in
 * which an init that has not reached its open yet looks finished.
 */
export async function startThroughExecFifo(
  runtimeRoot: string,
  id: string,
  init: { pid: number; start: ProcessStart | undefined },
  timeoutMs: number,
): Promise<ExecFifoStart> {
  const path = join(runtimeRoot, id, 'exec.fifo');
  // libuv opens every file close-on-exec.
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return 'not-waiting';
  }
  let isFifo = false;
  try {
    isFifo = fstatSync(fd).isFIFO();
  } catch {
    // An fd that cannot be looked at is not taken for the fifo.
  }
  if (!isFifo) {
    closeSync(fd);
    return 'not-waiting';
  }
  const fifo = new Socket({ fd, readable: true, writable: false });
  const outcome = await new Promise<ExecFifoStart | Error>((resolve) => {
    let wrote = false;
    let settled = false;
    const finish = (value: ExecFifoStart | Error) => {
      if (settled) return;
      settled = true;
      clearInterval(liveness);
      clearTimeout(deadline);
      fifo.destroy();
      resolve(value);
    };
    fifo.on('data', () => (wrote = true));
    // The writer's end closes when init execs (it holds it close-on-exec), or when init dies.
    fifo.on('end', () => finish(wrote ? 'started' : 'not-waiting'));
    fifo.on('error', (err) => finish(err));
    const liveness = setInterval(() => {
      void checkProcess(init.pid, init.start).then((state) => {
        if (state !== 'running' && !wrote) finish('not-waiting');
      });
    }, LIVENESS_INTERVAL_MS);
    const deadline = setTimeout(() => finish(new Error(`container ${id}: its init did not open ${path} within ${timeoutMs} ms`)), timeoutMs);
  });
  if (outcome instanceof Error) throw outcome;
  if (outcome === 'started') {
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`container ${id} started, but removing ${path} failed: ${(err as Error).message}`);
    }
  }
  return outcome;
}
