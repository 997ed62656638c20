import { open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CricketError } from '../errors.js';
import { processAlive } from '../process/alive.js';
import { KeyedQueue } from '../store/keyed-queue.js';

/** Lockers of one file within this process wait in line here before they try the file. */
const inProcess = new KeyedQueue();


/** Removes the lock file when its holder is gone: a dead pid, or no pid written for 10 s. */
async function removeIfStale(path: string): Promise<string> {
  let content: string;
  try {
    content = (await readFile(path, 'utf8')).trim();
  } catch {
    return 'gone';
  }
  const pid = Number.parseInt(content, 10);
  let stale = false;
  if (Number.isInteger(pid) && pid > 0) {
    // Our own pid: this process queues its lockers, so none of them holds it now.
    stale = pid === process.pid || !processAlive(pid);
  } else {
    const st = await stat(path).catch(() => undefined);
    stale = st !== undefined && Date.now() - st.mtimeMs > 10_000;
  }
  if (stale) await unlink(path).catch(() => {});
  return content;
}

/**
 * Runs `fn` holding an exclusive lock: across processes a lock file created with O_EXCL that
 * holds the owner's pid (so a crashed owner's lock is taken over), within this process a queue.
 * Meant for short critical sections (reading and writing an index), not for long work.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  return inProcess.run(path, async () => {
    const deadline = Date.now() + timeoutMs;
    let holder = '';
    for (;;) {
      try {
        const fh = await open(path, 'wx', 0o600);
        try {
          await fh.writeFile(`${process.pid}\n`);
        } catch (err) {
          // A full disk: an empty lock file left here would stall every other locker for 10 s.
          await fh.close().catch(() => undefined);
          await unlink(path).catch(() => undefined);
          throw err;
        }
        await fh.close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      holder = await removeIfStale(path);
      if (Date.now() > deadline) {
        throw new CricketError('deadline-exceeded', `lock ${path} still held by pid ${holder || '?'} after ${timeoutMs} ms`);
      }
      await sleep(20);
    }
    try {
      return await fn();
    } finally {
      await unlink(path).catch(() => {});
    }
  });
}
