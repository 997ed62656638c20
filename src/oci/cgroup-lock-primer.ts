import { constants, readFileSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../log/logger.js';
import { CGROUP_ROOT, type CgroupHost } from './cgroup-host.js';

/*
 * Every move of a process into a cgroup (runc does it for a container's init, for pause and for
 * each exec) takes the kernel's cgroup_threadgroup_rwsem for writing. That per-cpu rwsem makes a
 * writer wait for an RCU grace period unless another writer came through within about the last
 * one (5-11 ms on the nodes measured), and runc meets that wait once or twice per start. A move
 * of the daemon into the cgroup it is already in changes nothing but takes the same lock: started
 * as a create or exec begins, it waits out the grace period on a pool thread while conmon and runc
 * start up, and repeated while such calls keep coming, it keeps the lock out of its idle mode, so
 * runc's own moves find it ready. On a node whose cgroup2 is mounted with favordynmods there is
 * no wait to take away, and a move costs microseconds.
 */

/** The daemon's own cgroup, as one line of /proc/self/cgroup names it, and its cgroup.procs. */
export interface OwnCgroup {
  line: string;
  procsFile: string;
}

const V1_PREFERENCE = ['pids', 'cpu', 'memory', 'devices', 'freezer', 'blkio', 'cpuset', 'cpuacct'];

/**
 * Where the daemon can be moved into the cgroup it is in: the unified hierarchy on cgroup v2, one
 * controller's hierarchy on v1. undefined when /proc/self/cgroup names none this host mounts, or a
 * cgroup that is gone.
 */
export function ownCgroup(selfCgroup: string, host: Pick<CgroupHost, 'version' | 'controllerDir'>): OwnCgroup | undefined {
  const lines = selfCgroup.split('\n').filter(Boolean);
  const usable = (path: string | undefined): path is string =>
    !!path && path.startsWith('/') && !path.endsWith(' (deleted)') && !path.split('/').includes('..');
  if (host.version === 2) {
    const line = lines.find((l) => l.startsWith('0::'));
    const path = line?.slice(3);
    if (!line || !usable(path)) return undefined;
    return { line, procsFile: join(CGROUP_ROOT, path, 'cgroup.procs') };
  }
  for (const controller of V1_PREFERENCE) {
    for (const line of lines) {
      const [, controllers, ...rest] = line.split(':');
      const path = rest.join(':');
      if (!controllers?.split(',').includes(controller) || !usable(path)) continue;
      return { line, procsFile: join(host.controllerDir(controller), path, 'cgroup.procs') };
    }
  }
  return undefined;
}

/** The file operations the primer makes; the daemon's are the real ones. */
export interface PrimerIo {
  readSelfCgroup(): Promise<string>;
  writeProcs(file: string, pid: number): Promise<void>;
  /** Lets go of what was kept open; a later call opens again. */
  close(): Promise<void>;
}

/**
 * The daemon's own files, each opened once: a move every few milliseconds is then one read and
 * one write on the thread pool, not an open, a stat, reads and a close for each file, every one
 * of which wakes a pool thread and then the event loop (each wake some 30 us of CPU on the
 * 2-core VMs measured, where it mostly lands on the core runc is using).
 */
export class KeptPrimerFiles implements PrimerIo {
  private self: Promise<FileHandle> | undefined;
  private readonly procs = new Map<string, Promise<FileHandle>>();
  /** /proc/self/cgroup is a line per hierarchy: far below this, or read whole the long way. */
  private readonly buffer = Buffer.alloc(16 * 1024);

  constructor(private readonly selfCgroupFile = '/proc/self/cgroup') {}

  async readSelfCgroup(): Promise<string> {
    this.self ??= open(this.selfCgroupFile, 'r');
    // A read from the start makes the kernel write the file's lines afresh.
    const { bytesRead } = await (await this.self).read(this.buffer, 0, this.buffer.length, 0);
    if (bytesRead === this.buffer.length) return readFile(this.selfCgroupFile, 'utf8');
    return this.buffer.toString('utf8', 0, bytesRead);
  }

  async writeProcs(file: string, pid: number): Promise<void> {
    let handle = this.procs.get(file);
    if (!handle) this.procs.set(file, (handle = open(file, constants.O_WRONLY)));
    // Each write(2) of a pid to cgroup.procs is a move of its own.
    await (await handle).write(`${pid}\n`);
  }

  async close(): Promise<void> {
    const kept = [this.self, ...this.procs.values()];
    this.self = undefined;
    this.procs.clear();
    // One that never opened has nothing to close; a failed close leaves nothing to do either.
    await Promise.allSettled(kept.map(async (handle) => (await handle?.catch(() => undefined))?.close()));
  }
}

/**
 * How the lock is kept ready: a move every `intervalMs` (below a grace period, so it never goes
 * back to its idle mode in between) until `lingerMs` after the last prime() call, so that the
 * CreateContainer that follows a RunPodSandbox finds it ready too.
 */
export interface PrimerTiming {
  intervalMs: number;
  lingerMs: number;
}

export const DEFAULT_PRIMER_TIMING: PrimerTiming = { intervalMs: 4, lingerMs: 100 };

export class CgroupLockPrimer {
  private loop: Promise<void> | undefined;
  private warmUntil = 0;
  /** Moves done. */
  primes = 0;
  /** Told how long each move waited (the metrics endpoint listens here when it is on). */
  onPrimed: ((seconds: number) => void) | undefined;

  constructor(
    private target: OwnCgroup | undefined,
    private readonly pid: number = process.pid,
    private readonly io: PrimerIo = new KeptPrimerFiles(),
    private readonly timing: PrimerTiming = DEFAULT_PRIMER_TIMING,
  ) {}

  get enabled(): boolean {
    return this.target !== undefined;
  }

  /**
   * Keeps the lock ready from now until the linger time after this call: a move at once unless
   * one is under way, then one per interval. Never throws; a failure turns priming off.
   */
  prime(): void {
    if (!this.target) return;
    this.warmUntil = Math.max(this.warmUntil, performance.now() + this.timing.lingerMs);
    this.loop ??= this.keepReady().finally(() => {
      this.loop = undefined;
    });
  }

  /** Resolves once no move is under way or due (tests wait for it). */
  settled(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  /** Ends priming for good once the move under way is done, and closes the files it kept. */
  async stop(): Promise<void> {
    this.target = undefined;
    await this.settled();
    await this.io.close();
  }

  private async keepReady(): Promise<void> {
    for (;;) {
      await this.once();
      if (!this.target || performance.now() >= this.warmUntil) return;
      await sleep(this.timing.intervalMs);
    }
  }

  private async once(): Promise<void> {
    const target = this.target!;
    try {
      // Moved since start-up (a service manager's doing): writing the old cgroup would move the
      // daemon back, so priming stops instead.
      const now = await this.io.readSelfCgroup();
      if (!now.split('\n').includes(target.line)) {
        this.target = undefined;
        logger.info({ was: target.line }, 'the daemon is in another cgroup than at start-up; cgroup lock priming stops');
        return;
      }
      const started = process.hrtime.bigint();
      await this.io.writeProcs(target.procsFile, this.pid);
      this.primes++;
      this.onPrimed?.(Number(process.hrtime.bigint() - started) / 1e9);
    } catch (err) {
      this.target = undefined;
      logger.warn({ err, file: target.procsFile }, 'a no-op cgroup move of the daemon failed; cgroup lock priming stops');
    }
  }
}

/**
 * The daemon's primer: on when asked for and the daemon's own cgroup is found and really holds it
 * (checked once here, so that a wrong path can never move the daemon elsewhere).
 */
export function startCgroupLockPrimer(enabled: boolean, host: CgroupHost, timing = DEFAULT_PRIMER_TIMING): CgroupLockPrimer {
  if (!enabled) return new CgroupLockPrimer(undefined);
  let target: OwnCgroup | undefined;
  try {
    target = ownCgroup(readFileSync('/proc/self/cgroup', 'utf8'), host);
    const members = target ? readFileSync(target.procsFile, 'utf8').split('\n') : [];
    if (target && !members.includes(String(process.pid))) {
      logger.info({ file: target.procsFile }, 'the daemon is not listed in the cgroup it names; no cgroup lock priming');
      target = undefined;
    }
  } catch (err) {
    logger.info({ err }, 'the daemon\'s own cgroup cannot be read; no cgroup lock priming');
    target = undefined;
  }
  return new CgroupLockPrimer(target, process.pid, undefined, timing);
}
