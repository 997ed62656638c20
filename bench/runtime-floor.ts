// The OCI runtime's floor under Create+Start: `runc create` of a bench container's own config.json
// and the start through its exec fifo, run here with nothing around them (no CRI call, no conmon,
// no overlay mount, no spec to build). A CRI runtime on the same runc cannot create and start
// this container faster, so a Create+Start target below this floor is out of reach on this node.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProgram } from '../src/process/find-program.js';
import { run } from '../src/process/run.js';
import { TEST_CGROUP_PARENT } from '../test/harness/cricket.js';
import { percentile } from './percentiles.js';

export interface RuntimeFloor {
  p50: number;
  p99: number;
  runs: number;
}

const runc = async (args: string[]): Promise<void> => {
  // The container keeps runc's stdio: /dev/null, so that nothing waits for its end.
  await run(findProgram('runc'), args, { timeoutMs: 30_000, detachedStdio: true });
};

/**
 * `runs` creates and starts of a copy of `bundleConfig` (a created container's config.json, whose
 * rootfs and pod namespaces stay in place meanwhile), each in a cgroup of its own, in a runc root
 * under `work`; each container is deleted before the next.
 */
export async function runtimeFloor(bundleConfig: string, work: string, runs: number): Promise<RuntimeFloor> {
  const spec = JSON.parse(readFileSync(bundleConfig, 'utf8')) as { linux: { cgroupsPath?: string } };
  const root = join(work, 'floor-runc');
  const bundle = join(work, 'floor-bundle');
  mkdirSync(root, { recursive: true, mode: 0o700 });
  mkdirSync(bundle, { recursive: true, mode: 0o700 });
  const samples: number[] = [];
  try {
    // One uncounted run, as the lifecycles have their warm-up.
    for (let i = 0; i <= runs; i++) {
      const id = `bench-floor-${process.pid}-${i}`;
      spec.linux.cgroupsPath = `/${TEST_CGROUP_PARENT}/${id}`;
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
      try {
        const t = process.hrtime.bigint();
        await runc(['--root', root, 'create', '--bundle', bundle, id]);
        // What `runc start` does: read the fifo the created init waits on; it ends once init execs.
        readFileSync(join(root, id, 'exec.fifo'));
        if (i > 0) samples.push(Number(process.hrtime.bigint() - t) / 1e6);
      } finally {
        await runc(['--root', root, 'delete', '--force', id]).catch(() => undefined);
      }
    }
  } finally {
    rmSync(bundle, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), runs: samples.length };
}
