// npm run bench: builds, then runs the benchmarks as root against a private daemon.
//   npm run bench                          lifecycle latencies, daemon memory, image pull
//   npm run bench -- --vs ENDPOINT --vs-pid PID [--vs-reaper-pid PID] [--vs-helper TEXT]
//                                          the side-by-side run against another CRI runtime
//   npm run bench -- --with-containerd     the same against a private reference containerd
// Side-by-side options: --pods N (at once, default 50), --lifecycles N, --relist-pods N,
// --relist-rounds N (counted, default 500), --go-relist-rounds N (the grpc-go client's, default
// 3000, stats calls every 12th) after
// --relist-warmup N (not counted, default 1000, with either client),
// --handler crun (every pod on crun, on both sides: containerd gets the same crun as a runtime),
// --json, --forks (execve counts per lifecycle, with strace), --cpu-prof DIR (the daemon's profile).
// --with-containerd also installs Debian's Go and grpc-go, for the relist made by a grpc-go client.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGoClient, ensureGoClientTools } from './go-client.mjs';
import { startReferenceContainerd } from './reference-containerd.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });

if (args.includes('--with-containerd')) ensureGoClientTools(log);
// The side-by-side run adds the relist made by grpc-go when Go is here.
if (args.length) buildGoClient(root, log);

if (args.includes('--with-containerd')) {
  const slot = Number.parseInt(process.env.CRICKET_TEST_SLOT ?? '0', 10) || 0;
  const work = mkdtempSync(`/tmp/cricket-bench-ref-${slot}-`);
  let status = 0;
  try {
    const ref = await startReferenceContainerd({ repo: root, dir: join(work, 'containerd'), bridge: `ckb${slot}`, subnet: `10.96.${slot}.0/24`, log, crun: args.includes('--handler') && args[args.indexOf('--handler') + 1] === 'crun' });
    try {
      log(`reference containerd up (pid ${ref.pid})`);
      const rest = args.filter((a) => a !== '--with-containerd');
      execFileSync(process.execPath, ['dist/bench/side-by-side.js', '--vs', ref.socket, '--vs-pid', String(ref.pid), '--vs-reaper-pid', String(ref.reaperPid), '--vs-helper', ref.socket, '--vs-name', 'containerd', ...rest], { cwd: root, stdio: 'inherit' });
    } finally {
      await ref.stop();
    }
  } catch (err) {
    log(`failed: ${err.message}`);
    status = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.exit(status);
} else if (args.length) {
  execFileSync(process.execPath, ['dist/bench/side-by-side.js', ...args], { cwd: root, stdio: 'inherit' });
} else {
  execFileSync(process.execPath, ['dist/bench/lifecycle.js'], { cwd: root, stdio: 'inherit' });
  // The puller runs in this process: its info lines would bury the figures.
  execFileSync(process.execPath, ['dist/bench/pull.js'], { cwd: root, stdio: 'inherit', env: { ...process.env, CRICKET_LOG_LEVEL: process.env.CRICKET_LOG_LEVEL ?? 'warn' } });
  execFileSync(process.execPath, ['dist/bench/play.js'], { cwd: root, stdio: 'inherit', env: { ...process.env, CRICKET_LOG_LEVEL: process.env.CRICKET_LOG_LEVEL ?? 'warn' } });
}
