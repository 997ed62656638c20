import { copyFile, lstat, mkdtemp, readFile, rename, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { create as tarCreate } from 'tar';
import { CricketError, failedPrecondition, invalidArgument, notFound, withContext } from '../errors.js';
import { logger, stopwatch } from '../log/logger.js';
import { ProgramError, run } from '../process/run.js';
import type { RuntimeContext } from '../runtime-context.js';
import { ARCHIVE, type ConfigDump, whiteouts } from './checkpoint-archive.js';
import { criuSupport } from './criu-support.js';
import { runtimeOf } from './runtime-of.js';

/** kubelet's default is no timeout at all; a checkpoint never holds a container's lock longer than this. */
const DEFAULT_TIMEOUT_S = 300;
const MAX_TIMEOUT_S = 1800;
const MAX_PATH = 4096;

/** The archive path: absolute, without `..`, in an existing directory, not an existing non-file. */
export async function checkArchiveLocation(location: string): Promise<void> {
  if (!location) throw invalidArgument('location (the checkpoint archive path) is required');
  if (location.length > MAX_PATH || location.includes('\0')) throw invalidArgument('location is not a usable path');
  if (!isAbsolute(location) || normalize(location) !== location || location.endsWith('/')) {
    throw invalidArgument(`location "${location}" must be an absolute, normalized file path`);
  }
  const parent = await stat(dirname(location)).catch(() => undefined);
  if (!parent?.isDirectory()) throw invalidArgument(`location "${location}": ${dirname(location)} is not a directory`);
  const existing = await lstat(location).catch(() => undefined);
  if (existing && !existing.isFile()) throw invalidArgument(`location "${location}" exists and is not a regular file`);
}

/**
 * CheckpointContainer: CRIU images of the running container's processes (it goes on running),
 * its config, spec and writable-layer changes, in one tar archive at `location`. The archive
 * appears whole or not at all (written beside it, then renamed).
 */
export async function checkpointContainer(ctx: RuntimeContext, containerId: string, location: string, timeoutSeconds: number): Promise<void> {
  if (timeoutSeconds < 0) throw invalidArgument('timeout must not be negative');
  const found = ctx.containers.find(containerId);
  if (!found) throw notFound(`container ${containerId} not found`);
  await checkArchiveLocation(location);
  const deadline = Date.now() + 1000 * Math.min(timeoutSeconds || DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S);
  const left = (step: string) => {
    const ms = deadline - Date.now();
    if (ms <= 0) throw new CricketError('deadline-exceeded', `checkpoint of container ${found.id}: timeout reached before ${step}`);
    return ms;
  };
  if (found.state !== 'running') throw failedPrecondition(`container ${found.id} is ${found.state}; only a running container can be checkpointed`);
  const criu = await criuSupport();
  if (!criu.usable) throw failedPrecondition(`container ${found.id}: CRIU cannot checkpoint on this node: ${criu.reason}`);

  await ctx.locks.run(found.id, async () => {
    const record = ctx.containers.get(found.id);
    if (record?.state !== 'running') throw failedPrecondition(`container ${found.id} is no longer running`);
    const log = logger.child({ pod: record.sandboxId, container: record.id, step: 'checkpoint' });
    const t = stopwatch();
    const dir = ctx.paths.containerDir(record.id);
    const work = await mkdtemp(join(dir, 'checkpoint-'));
    try {
      const images = join(work, ARCHIVE.checkpointDir);
      try {
        const runtime = runtimeOf(ctx, record);
        await run(runtime.command[0]!, [...runtime.command.slice(1), '--root', runtime.rootDir, 'checkpoint', '--image-path', images, '--work-path', join(work, 'criu'), '--leave-running', '--file-locks', record.id], {
          timeoutMs: left('runc checkpoint'),
        });
      } catch (err) {
        const dumpLog = await readFile(join(work, 'criu', 'dump.log'), 'utf8').catch(() => '');
        const tail = dumpLog.split('\n').filter((l) => l.includes('Error')).slice(-5).join('; ');
        if (err instanceof ProgramError && err.timedOut) throw new CricketError('deadline-exceeded', `runc checkpoint of ${record.id} did not finish before the timeout`);
        throw withContext(`runc checkpoint of ${record.id}${tail ? ` (criu: ${tail})` : ''}`, err);
      }
      const dump: ConfigDump = {
        id: record.id,
        name: record.name,
        rootfsImage: record.imageSpec,
        rootfsImageRef: record.imageId,
        rootfsImageName: record.imageSpec,
        runtime: 'runc',
        createdTime: new Date(Number(BigInt(record.createdAt) / 1_000_000n)).toISOString(),
      };
      await writeFile(join(work, ARCHIVE.configDump), JSON.stringify(dump), { mode: 0o600 });
      await copyFile(join(dir, 'config.json'), join(work, ARCHIVE.specDump));
      const upper = join(ctx.paths.containerRw(record.id), 'upper');
      const deleted = await whiteouts(upper);
      await writeFile(join(work, ARCHIVE.deletedFiles), JSON.stringify(deleted), { mode: 0o600 });
      const skip = new Set(deleted.map((p) => `./${p}`));
      left('archiving the writable layer');
      await tarCreate({ file: join(work, ARCHIVE.rootfsDiff), cwd: upper, portable: false, filter: (p) => !skip.has(p) }, ['.']);
      left('writing the archive');
      const tmp = `${location}.cricket-tmp`;
      await tarCreate({ file: tmp, cwd: work, portable: true }, [ARCHIVE.checkpointDir, ARCHIVE.configDump, ARCHIVE.specDump, ARCHIVE.rootfsDiff, ARCHIVE.deletedFiles]).catch(async (err) => {
        await rm(tmp, { force: true });
        throw err;
      });
      await chmod(tmp, 0o600);
      await rename(tmp, location);
      log.info({ location, ms: t() }, 'container checkpointed');
    } finally {
      await rm(work, { recursive: true, force: true }).catch((err) => log.warn({ err, work }, 'removing checkpoint work directory failed'));
    }
  });
}
