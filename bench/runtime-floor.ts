// The OCI runtime's floor under Create+Start: `runc create` of a bench container's own config.json
// and the start through its exec fifo, run here with nothing around them (no CRI call, no conmon,
// no overlay mount, no spec to build). runc is started two ways, in turns: from its installed
// path, as containerd starts it, and from a sealed memfd copy, as cricket starts it (runc 1.0/1.1
// then skip copying themselves at each `runc init`), and from the sealed copy once the kernel's
// cgroup migration lock has been made ready by a no-op move of this process, as cricket does
// ahead of runc (src/oci/cgroup-lock-primer.ts). A CRI runtime on the same runc cannot create and
// start this container faster than the quickest of these.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProgram } from '../src/process/find-program.js';
import { run } from '../src/process/run.js';
import { sealedRuntimePath } from '../src/oci/sealed-runtime.js';
import { cgroupHost } from '../src/oci/cgroup-host.js';
import { startCgroupLockPrimer } from '../src/oci/cgroup-lock-primer.js';
import { TEST_CGROUP_PARENT } from '../test/harness/cricket.js';
import { percentile } from './percentiles.js';

export interface FloorFigures {
  p50: number;
  p99: number;
}

export interface RuntimeFloor {
  /** runc started from its installed path. */
  installed: FloorFigures;
  /** runc started from a sealed copy; absent where the copy cannot be made (no addon). */
  sealed?: FloorFigures;
  /** The same with the cgroup migration lock made ready just before; absent where it cannot be. */
  sealedLockReady?: FloorFigures;
  /** Runs of each way. */
  runs: number;
}

const runc = async (binary: string, args: string[]): Promise<void> => {
  // The container keeps runc's stdio: /dev/null, so that nothing waits for its end.
  await run(binary, args, { timeoutMs: 30_000, detachedStdio: true });
};

/**
 * `runs` creates and starts of a copy of `bundleConfig` (a created container's config.json, whose
 * rootfs and pod namespaces stay in place meanwhile) for each way of starting runc, alternately,
 * each in a cgroup of its own, in a runc root under `work`; each container is deleted before the
 * next.
 */
export async function runtimeFloor(bundleConfig: string, work: string, runs: number): Promise<RuntimeFloor> {
  const spec = JSON.parse(readFileSync(bundleConfig, 'utf8')) as { linux: { cgroupsPath?: string } };
  const root = join(work, 'floor-runc');
  const bundle = join(work, 'floor-bundle');
  const installed = findProgram('runc');
  const sealed = sealedRuntimePath(installed, 'runc');
  // A move at a time, done before runc starts: the lock is then ready for about a grace period.
  const primer = startCgroupLockPrimer(true, cgroupHost(), { intervalMs: 1, lingerMs: 0 });
  const ways: { binary: string; lockReady: boolean }[] = [{ binary: installed, lockReady: false }];
  if (sealed !== installed) {
    ways.push({ binary: sealed, lockReady: false });
    if (primer.enabled) ways.push({ binary: sealed, lockReady: true });
  }
  mkdirSync(root, { recursive: true, mode: 0o700 });
  mkdirSync(bundle, { recursive: true, mode: 0o700 });
  const samples = ways.map((): number[] => []);
  try {
    // One uncounted round, as the lifecycles have their warm-up.
    for (let i = 0; i <= runs; i++) {
      for (const [way, { binary, lockReady }] of ways.entries()) {
        const id = `bench-floor-${process.pid}-${i}-${way}`;
        spec.linux.cgroupsPath = `/${TEST_CGROUP_PARENT}/${id}`;
        writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
        try {
          if (lockReady) {
            primer.prime();
            await primer.settled();
          }
          const t = process.hrtime.bigint();
          await runc(binary, ['--root', root, 'create', '--bundle', bundle, id]);
          // What `runc start` does: read the fifo the created init waits on; it ends once init execs.
          readFileSync(join(root, id, 'exec.fifo'));
          if (i > 0) samples[way]!.push(Number(process.hrtime.bigint() - t) / 1e6);
        } finally {
          await runc(binary, ['--root', root, 'delete', '--force', id]).catch(() => undefined);
        }
      }
    }
  } finally {
    await primer.stop();
    rmSync(bundle, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }
  const figures = (s: number[]): FloorFigures => ({ p50: percentile(s, 50), p99: percentile(s, 99) });
  return {
    installed: figures(samples[0]!),
    ...(samples[1] ? { sealed: figures(samples[1]) } : {}),
    ...(samples[2] ? { sealedLockReady: figures(samples[2]) } : {}),
    runs,
  };
}
