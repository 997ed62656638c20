import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withContext } from '../errors.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { deleteStoppedDirectly } from './delete-stopped.js';
import { startThroughExecFifo } from './exec-fifo.js';
import type { ProcessStart } from '../process/identity.js';
import { run, ProgramError } from '../process/run.js';
import type { HandlerFeatures } from './runtime-features.js';
import type { OciResources, OciSpec } from './spec-types.js';

export interface RuncState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'stopped' | 'paused';
  bundle: string;
}

const NO_FEATURES: HandlerFeatures = { recursiveReadOnlyMounts: false, userNamespaces: false, execFifoStart: false, deletesStoppedDirectly: false, readsSpecOnce: false, copiesItselfAtInit: false, notes: [] };

/**
 * The one place an OCI runtime (runc, or crun, which takes the same command line) is invoked;
 * every call uses that runtime handler's own state root.
 */
export class Runc {
  constructor(
    private readonly binary: string,
    private readonly root: string,
    private readonly timeoutMs: number,
    /** The runtime handler's name, as kubelet's RuntimeClass names it. */
    readonly handler = 'runc',
    readonly features: HandlerFeatures = NO_FEATURES,
    /** A program (and its arguments) the runtime is started through; see runtimes.ts. */
    private readonly launcher: readonly string[] = [],
  ) {}

  /** The runtime's command line up to its own arguments: [program, ...leading arguments]. */
  get command(): string[] {
    return [...this.launcher, this.binary];
  }

  get rootDir(): string {
    return this.root;
  }

  async writeBundle(bundle: string, spec: OciSpec | string, file = 'config.json'): Promise<void> {
    // The spec holds the container's environment (Secrets among it): root's alone. Written by
    // rename, so a runtime started early (conmon on its start pipe) finds all of it or none.
    await writeFileAtomic(join(bundle, file), typeof spec === 'string' ? spec : JSON.stringify(spec), { mode: 0o600, fsync: false });
  }

  /**
   * Creates and starts a detached container whose stdio is /dev/null (the pause process).
   * runc's own errors go to a log file in the bundle, since its stderr is the container's too.
   */
  async runDetached(id: string, bundle: string, pidFile: string): Promise<void> {
    const logFile = join(bundle, 'runc.log');
    try {
      await run(this.command[0]!, [...this.command.slice(1), '--root', this.root, '--log', logFile, '--log-format', 'json', 'run', '--detach', '--bundle', bundle, '--pid-file', pidFile, id], {
        timeoutMs: this.timeoutMs,
        detachedStdio: true,
      });
    } catch (err) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      const messages = log.split('\n').filter(Boolean).map((line) => {
        try {
          return (JSON.parse(line) as { msg?: string }).msg ?? line;
        } catch {
          return line;
        }
      });
      throw new Error(`${this.handler} run ${id}: ${messages.join('; ') || (err as Error).message}`);
    }
  }

  /**
   * Starts a created container. With runc and the container's init known, its exec fifo is read
   * here; whatever that cannot settle (no fifo, init gone) is left to `<runtime> start`.
   * Says which way it went, for the step log.
   */
  async start(id: string, init?: { pid: number; start: ProcessStart | undefined }): Promise<'exec-fifo' | 'start'> {
    if (this.features.execFifoStart && init && init.pid > 0) {
      if ((await startThroughExecFifo(this.root, id, init, this.timeoutMs)) === 'started') return 'exec-fifo';
    }
    await this.call(['start', id]);
    return 'start';
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    await this.call(all ? ['kill', '--all', id, signal] : ['kill', id, signal]);
  }

  /**
   * Forced delete kills what is left and removes runc's state and cgroup; gone is fine. With runc
   * 1.x a container whose init has ended is deleted without starting runc (delete-stopped.ts).
   */
  async deleteForce(id: string): Promise<void> {
    if (this.features.deletesStoppedDirectly) {
      const direct = await deleteStoppedDirectly(this.root, id).catch(() => 'ask-runc' as const);
      if (direct !== 'ask-runc') return;
    }
    try {
      await this.call(['delete', '--force', id]);
    } catch (err) {
      if (isNotExist(err)) return;
      throw err;
    }
  }

  /**
   * Changes the cgroup limits of a running container (OCI LinuxResources JSON). runc would read
   * `-` as stdin, crun only opens a path, and /dev/stdin cannot be opened on the socket Node
   * gives a child: a file in the runtime's own root serves both.
   */
  async update(id: string, resources: OciResources): Promise<void> {
    const file = join(this.root, `.update-${randomBytes(6).toString('hex')}.json`);
    await writeFile(file, JSON.stringify(resources), { mode: 0o600 }).catch((err: unknown) => {
      throw withContext(`writing ${file}`, err);
    });
    try {
      await this.call(['update', '--resources', file, id]);
    } finally {
      await rm(file, { force: true });
    }
  }

  async state(id: string): Promise<RuncState | undefined> {
    try {
      const { stdout } = await this.call(['state', id]);
      return JSON.parse(stdout) as RuncState;
    } catch (err) {
      if (isNotExist(err)) return undefined;
      throw err;
    }
  }

  /** The pid of a created or running container; runc checks the pid against its start time. */
  async livePid(id: string): Promise<number | undefined> {
    const state = await this.state(id);
    return state && (state.status === 'running' || state.status === 'created') && state.pid > 0 ? state.pid : undefined;
  }

  async list(): Promise<RuncState[]> {
    const { stdout } = await this.call(['list', '--format', 'json']);
    return (JSON.parse(stdout || 'null') as RuncState[] | null) ?? [];
  }

  private call(args: string[]) {
    return run(this.command[0]!, [...this.command.slice(1), '--root', this.root, ...args], { timeoutMs: this.timeoutMs });
  }
}

function isNotExist(err: unknown): boolean {
  // crun says it by failing to open the container's status file.
  return err instanceof ProgramError && /does not exist|not found|container .* not exist|opening file .*\/status.*no such file/i.test(err.stderr);
}
