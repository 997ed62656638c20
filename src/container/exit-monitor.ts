import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../log/logger.js';
import { processAlive } from '../process/alive.js';
import { nowNs } from '../store/clock.js';
import type { RuntimeContext } from '../runtime-context.js';
import type { ContainerRecord } from '../store/types.js';
import { releaseExited } from './release.js';
import { oomKills } from './oom-kills.js';
import { containerCgroupsPath } from '../pod/cgroups.js';

type Waiter = () => void;

/** Persisting an exit that failed (a full disk) is tried again after 0.2 s, 0.4 s, ... at most 5 s apart. */
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 5_000;
/** How often running containers are looked at for an exit conmon could not report. */
const SWEEP_MS = 10_000;
/** The exit code of a container whose real one is lost, as other runtimes report it. */
const LOST_EXIT_CODE = 255;

/**
 * Turns conmon's exit files into container state. conmon writes `<exitDir>/<id>` holding the
 * exit code when a container's process ends; an inotify watch on the directory makes that
 * visible at once, without polling, and the files themselves record exits that happened while
 * cricket was down.
 */
export class ExitMonitor {
  private watcher: FSWatcher | undefined;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private stopped = false;
  private sweeper: NodeJS.Timeout | undefined;
  /** Running containers whose process was gone at the last sweep. */
  private readonly gone = new Set<string>();

  constructor(private readonly ctx: RuntimeContext) {}

  async start(): Promise<void> {
    await mkdir(this.ctx.paths.exits, { recursive: true });
    this.watcher = watch(this.ctx.paths.exits, (_event, name) => {
      if (name && !name.includes('.')) this.collectInBackground(name.toString());
    });
    // Without a listener an error of the watch (its directory removed) would end the daemon.
    this.watcher.on('error', (err) => logger.error({ err, dir: this.ctx.paths.exits }, 'watching the exit directory failed'));
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
    // Exits that happened while cricket was not running.
    for (const record of [...this.ctx.containers.all()]) {
      if (record.state === 'running' || record.state === 'created') {
        await this.collect(record.id).catch((err: unknown) => this.retryLater(record.id, err));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    clearInterval(this.sweeper);
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
  }

  /** collect() for callers that do not wait: a failure is logged and the exit tried again later. */
  private collectInBackground(id: string, attempt = 0): void {
    this.collect(id, attempt).catch((err: unknown) => this.retryLater(id, err));
  }

  /**
   * An exit that could not be recorded is never dropped: it is tried again with a growing delay
   * until it lands, the container is removed, or the monitor stops.
   */
  private retryLater(id: string, err: unknown): void {
    if (this.stopped || this.retries.has(id)) return;
    const failures = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, failures);
    const delayMs = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(failures - 1, 10));
    const record = this.ctx.containers.get(id);
    // Every attempt of a long outage would flood the log: the first and every 12th are warnings.
    const level = failures === 1 || failures % 12 === 0 ? 'warn' : 'debug';
    logger[level]({ pod: record?.sandboxId, container: id, step: 'record exit', err: (err as Error)?.message ?? String(err), failures, retryInMs: delayMs }, 'recording a container exit failed; retrying');
    const timer = setTimeout(() => {
      this.retries.delete(id);
      this.collectInBackground(id);
    }, delayMs);
    timer.unref();
    this.retries.set(id, timer);
  }

  /**
   * conmon writes the exit file into the state dir; when that is full it cannot, and nothing
   * else would ever tell. A container whose process is gone at two sweeps in a row,
   * with still no exit file, is recorded as exited with its code unknown.
   */
  private sweep(): void {
    const seen = new Set<string>();
    for (const record of this.ctx.containers.all()) {
      // A created container's pid is runc's init, waiting to be started: gone means it died too.
      if ((record.state !== 'running' && record.state !== 'created') || record.pid <= 0 || processAlive(record.pid)) continue;
      seen.add(record.id);
      const lost = this.gone.has(record.id);
      this.collect(record.id, 0, lost).catch((err: unknown) => this.retryLater(record.id, err));
    }
    this.gone.clear();
    for (const id of seen) this.gone.add(id);
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
      this.collectInBackground(id);
    });
  }

  /**
   * Reads the exit file of one container, if there is one, and records the exit. With `lost`
   * (the process is known to be gone), a missing or empty exit file records an unknown code.
   */
  async collect(id: string, attempt = 0, lost = false): Promise<void> {
    const record = this.ctx.containers.get(id);
    if (!record || record.state === 'exited') {
      this.failures.delete(id);
      return;
    }
    const file = join(this.ctx.paths.exits, id);
    let text = '';
    let mtimeNs = nowNs();
    try {
      const [content, info] = await Promise.all([readFile(file, 'utf8'), stat(file, { bigint: true })]);
      text = content.trim();
      mtimeNs = info.mtimeNs;
    } catch {
      if (!lost) return;
    }
    let code = Number.parseInt(text, 10);
    if (!Number.isInteger(code) && lost) code = LOST_EXIT_CODE;
    if (!Number.isInteger(code)) {
      // conmon may not have finished writing; look again shortly.
      // An exit file that stays empty (conmon hit a full disk) is looked at again, more slowly.
      if (attempt < 50) setTimeout(() => this.collectInBackground(id, attempt + 1), 10).unref();
      else this.retryLater(id, new Error(`exit file ${file} holds no exit code`));
      return;
    }
    await this.ctx.locks.run(id, async () => {
      const current = this.ctx.containers.get(id);
      if (!current || current.state === 'exited') return;
      // Read once per exit, before runc deletes the cgroup (release, after the exit is recorded):
      // kubelet tells an OOM kill from other deaths by the reason.
      const sandbox = this.ctx.sandboxes.get(current.sandboxId);
      const oomKilled = code !== 0 && sandbox !== undefined && (await oomKills(containerCgroupsPath(sandbox, id))) > 0;
      // The exit file's time comes from the kernel's coarse clock; never report an exit before
      // the start.
      const finishedAt = mtimeNs > BigInt(current.startedAt) ? mtimeNs : BigInt(current.startedAt);
      await this.ctx.containers.update(id, (latest) => {
        const updated: ContainerRecord = {
          ...latest,
          state: 'exited',
          exitCode: code,
          finishedAt: finishedAt.toString(),
          reason: latest.reason || (oomKilled ? 'OOMKilled' : code === 0 ? 'Completed' : 'Error'),
        };
        if (lost && !Number.isInteger(Number.parseInt(text, 10))) {
          updated.message = `exit code unknown: the process is gone but conmon left no exit code in ${file} (was the state directory full?)`;
        }
        if (updated.startedAt === '0') updated.startedAt = updated.finishedAt;
        return updated;
      });
      this.ctx.events.emit({ type: 'stopped', containerId: id, sandboxId: current.sandboxId, at: finishedAt });
      logger.info({ pod: current.sandboxId, container: id, exitCode: code, lost: lost || undefined }, 'container exited');
    });
    this.failures.delete(id);
    for (const waiter of [...(this.waiters.get(id) ?? [])]) waiter();
    this.waiters.delete(id);
    // Off the caller's path: nothing waits for this, and a later RemoveContainer finishes it.
    void this.ctx.locks.run(id, () => releaseExited(this.ctx, id)).catch((err) => logger.warn({ container: id, err }, 'releasing an exited container failed'));
  }
}
