import { rename, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../log/logger.js';
import { checkProcess } from '../process/identity.js';
import type { RuntimeContext } from '../runtime-context.js';
import { runtimeOf } from './runtime-of.js';

/** How often a stop looks at conmon while it waits: one /proc read each time. */
const POLL_MS = 50;

/**
 * Waits for a signalled container to exit, like ExitMonitor.waitForExit, but also when its conmon
 * was killed before it: conmon writes the exit file, and without conmon none would come. While
 * the stop waits, conmon is checked by pid and start time; once it is gone and runc reports the
 * container stopped, cricket writes the exit file in conmon's place and the exit monitor records
 * the exit as any other. The real status went to whoever reaped the process, so the code is that
 * of death by the signal sent (137 after SIGKILL).
 */
export async function waitForSignalledExit(
  ctx: RuntimeContext,
  id: string,
  timeoutMs: number,
  signal: string,
): Promise<boolean> {
  const done = new AbortController();
  const standIn = standInForLostConmon(ctx, id, signalNumber(signal), done.signal).catch((err: unknown) => {
    if (!done.signal.aborted) logger.warn({ container: id, err }, 'checking for a lost conmon failed');
  });
  try {
    return await ctx.exits.waitForExit(id, timeoutMs);
  } finally {
    done.abort();
    await standIn;
  }
}

async function standInForLostConmon(ctx: RuntimeContext, id: string, signo: number, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    const record = ctx.containers.get(id);
    // Records made before conmon's start stamp was kept are left to conmon, as before.
    if (!record || record.state === 'exited' || !record.conmonPid || !record.conmonStart) return;
    if ((await checkProcess(record.conmonPid, record.conmonStart)) !== 'running') {
      // A conmon that ended normally wrote the exit file before it did.
      await ctx.exits.collect(id);
      if (ctx.containers.get(id)?.state === 'exited') return;
      if ((await checkProcess(record.pid, record.pidStart)) !== 'running') {
        const state = await runtimeOf(ctx, record).state(id);
        if (!state || state.status === 'stopped') {
          const file = join(ctx.paths.exits, id);
          // The exit monitor ignores names with a dot, so it only ever sees the whole file.
          const tmp = join(ctx.paths.exits, `.${id}.lost`);
          await writeFile(tmp, `${128 + signo}`, { mode: 0o600 });
          await rename(tmp, file);
          logger.warn({ pod: record.sandboxId, container: id, conmonPid: record.conmonPid, exitCode: 128 + signo }, 'conmon died before its container; exit recorded from runc state');
          await ctx.exits.collect(id);
          return;
        }
      }
    }
    await sleep(POLL_MS, undefined, { signal: stop }).catch(() => undefined);
  }
}

function signalNumber(signal: string): number {
  if (/^[0-9]{1,2}$/.test(signal)) return Number(signal);
  const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`) as keyof typeof constants.signals;
  return constants.signals[name] ?? constants.signals.SIGKILL;
}
