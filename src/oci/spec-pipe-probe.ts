import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run, ProgramError } from '../process/run.js';
import { openSpecPipe } from './spec-pipe.js';

/** runc's refusal of a spec without a process: it can only come from a spec it has read. */
const REFUSED_THE_SPEC = /process property must not be empty/;

export interface SpecPipeProbe {
  works: boolean;
  /** What the runtime said instead, when it does not work. */
  why?: string;
}

/**
 * Whether the runtime started as `command` (runc 1.x, after any launcher) reads a spec through a
 * spec pipe on this node. Where a security module keeps it from opening cricket's fds, or a
 * launcher puts it where cricket's /proc entry is not, it would fail every CreateContainer: it is
 * fed a spec without a process, which it must refuse for that, not for the open. Its bundle is a
 * directory of its own under `scratch`, removed when done.
 */
export async function probeSpecPipe(command: readonly string[], scratch: string, timeoutMs: number): Promise<SpecPipeProbe> {
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(scratch, 'spec-pipe-'));
  try {
    const bundle = join(dir, 'bundle');
    await mkdir(bundle, { mode: 0o700 });
    const pipe = await openSpecPipe(bundle);
    if (!pipe) return { works: false, why: 'the addon that makes pipes is not loaded' };
    const id = `cricket-spec-pipe-probe-${process.pid}`;
    const root = join(dir, 'root');
    try {
      const runtime = run(command[0]!, [...command.slice(1), '--root', root, 'create', '--bundle', bundle, id], { timeoutMs: Math.min(timeoutMs, 10_000) }).then(
        () => 'it created the container',
        (err: unknown) => (err instanceof ProgramError ? err.stderr.trim() : String(err)),
      );
      await Promise.race([pipe.feed('{"ociVersion":"1.0.2"}'), runtime]);
      pipe.endFeed();
      const said = await runtime;
      if (said === 'it created the container') await run(command[0]!, [...command.slice(1), '--root', root, 'delete', '--force', id]).catch(() => undefined);
      return REFUSED_THE_SPEC.test(said) ? { works: true } : { works: false, why: said.slice(0, 500) };
    } finally {
      pipe.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
