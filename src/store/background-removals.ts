import { rm } from 'node:fs/promises';
import { logger } from '../log/logger.js';

/**
 * Directory trees removed after the call that retired them has answered. Their owner's record is
 * gone first, so a crash meanwhile leaves a directory without a record, which start-up recovery
 * removes. Paths are removed in the order given: the last one should be the one recovery looks
 * for. Failures are logged, never thrown: nothing waits for them but shutdown.
 */
export class BackgroundRemovals {
  private readonly pending = new Set<Promise<void>>();

  remove(paths: readonly string[], context: Record<string, string>): void {
    const job = (async () => {
      for (const path of paths) {
        await rm(path, { recursive: true, force: true }).catch((err: unknown) => logger.warn({ ...context, path, err }, 'removing a retired directory failed; recovery removes it at the next start'));
      }
    })();
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
  }

  /** Waits for the removals under way, at most `timeoutMs`. */
  async drain(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.pending]), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs).unref()))]);
    clearTimeout(timer);
  }

  get size(): number {
    return this.pending.size;
  }
}
