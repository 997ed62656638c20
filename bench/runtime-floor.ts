// The OCI runtime's floor under Create+Start: `runc create` of a bench container's own config.json
// and the start through its exec fifo, run here with nothing around them (no CRI call, no conmon,
// no overlay mount, no spec to build). runc is started two ways, in turns: from its installed
// path, as containerd starts it, and from a sealed memfd copy, as cricket starts it (runc 1.0/1.1
// then skip copying themselves at each `runc init`). A CRI runtime on the same runc cannot create
// and start this container faster than the quicker of the two.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProgram } from '../src/process/find-program.js';
import { run } from '../src/process/run.js';
import { sealedRuntimePath } from '../src/oci/sealed-runtime.js';
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
  const ways = sealed === installed ? [installed] : [installed, sealed];
  mkdirSync(root, { recursive: true, mode: 0o700 });
  mkdirSync(bundle, { recursive: true, mode: 0o700 });
  const samples = ways.map((): number[] => []);
  try {
    // One uncounted round, as the lifecycles have their warm-up.
    for (let i = 0; i <= runs; i++) {
      for (const [way, binary] of ways.entries()) {
        const id = `bench-floor-${process.pid}-${i}-${way}`;
        spec.linux.cgroupsPath = `/${TEST_CGROUP_PARENT}/${id}`;
        writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
        try {
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
    rmSync(bundle, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }
  const figures = (s: number[]): FloorFigures => ({ p50: percentile(s, 50), p99: percentile(s, 99) });
  return { installed: figures(samples[0]!), ...(samples[1] ? { sealed: figures(samples[1]) } : {}), runs };
}
