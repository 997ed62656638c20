import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import type { ContainerRecord } from '../store/types.js';
import { releaseExited } from './release.js';

type Waiter = () => void;

/**
 * Turns conmon's exit files into container state. conmon writes `<exitDir>/<id>` holding the
 * exit code when a container's process ends; an inotify watch on the directory makes that
 * visible at once, without polling, and the files themselves record exits that happened while
 * cricket was down.
 */
export class ExitMonitor {
  private watcher: FSWatcher | undefined;
  private readonly waiters = new Map<string, Set<Waiter>>();

  constructor(private readonly ctx: RuntimeContext) {}

  async start(): Promise<void> {
    await mkdir(this.ctx.paths.exits, { recursive: true });
    this.watcher = watch(this.ctx.paths.exits, (_event, name) => {
      if (name && !name.includes('.')) void this.collect(name.toString());
    });
    // Exits that happened while cricket was not running.
    for (const record of [...this.ctx.containers.all()]) {
      if (record.state === 'running' || record.state === 'created') await this.collect(record.id);
    }
  }

  stop(): void {
    this.watcher?.close();
  }

  /** Resolves true when the container has exited (now or within timeoutMs), false on timeout. */
  waitForExit(id: string, timeoutMs: number): Promise<boolean> {
    const record = this.ctx.containers.get(id);
    if (!record || record.state === 'exited') return Promise.resolve(true);
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set<Waiter>();
      this.waiters.set(id, set);
      const done: Waiter = () => {
        clearTimeout(timer);
        set.delete(done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        set.delete(done);
        resolve(false);
      }, timeoutMs);
      set.add(done);
      // The exit may have landed between the check above and now.
      void this.collect(id);
    });
  }

  /** Reads the exit file of one container, if there is one, and records the exit. */
  async collect(id: string, attempt = 0): Promise<void> {
    const record = this.ctx.containers.get(id);
    if (!record || record.state === 'exited') return;
    const file = join(this.ctx.paths.exits, id);
    let text: string;
    let mtimeNs: bigint;
    try {
      const [content, info] = await Promise.all([readFile(file, 'utf8'), stat(file, { bigint: true })]);
      text = content.trim();
      mtimeNs = info.mtimeNs;
    } catch {
      return;
    }
    const code = Number.parseInt(text, 10);
    if (!Number.isInteger(code)) {
      // conmon may not have finished writing; look again shortly.
      if (attempt < 50) setTimeout(() => void this.collect(id, attempt + 1), 10);
      return;
    }
    await this.ctx.locks.run(id, async () => {
      const current = this.ctx.containers.get(id);
      if (!current || current.state === 'exited') return;
      // The exit file's time comes from the kernel's coarse clock; never report an exit before
      // the start.
      const finishedAt = mtimeNs > BigInt(current.startedAt) ? mtimeNs : BigInt(current.startedAt);
      await this.ctx.containers.update(id, (latest) => {
        const updated: ContainerRecord = {
          ...latest,
          state: 'exited',
          exitCode: code,
          finishedAt: finishedAt.toString(),
          reason: latest.reason || (code === 0 ? 'Completed' : 'Error'),
        };
        if (updated.startedAt === '0') updated.startedAt = updated.finishedAt;
        return updated;
      });
      this.ctx.events.emit({ type: 'stopped', containerId: id, sandboxId: current.sandboxId, at: finishedAt });
      logger.info({ pod: current.sandboxId, container: id, exitCode: code }, 'container exited');
    });
    for (const waiter of [...(this.waiters.get(id) ?? [])]) waiter();
    this.waiters.delete(id);
    // Off the caller's path: nothing waits for this, and a later RemoveContainer finishes it.
    void this.ctx.locks.run(id, () => releaseExited(this.ctx, id)).catch((err) => logger.warn({ container: id, err }, 'releasing an exited container failed'));
  }
}
