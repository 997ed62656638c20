#!/usr/bin/env node
// A longer fuzz campaign than the test suite's: `npm run fuzz` (after a build).
//   CRICKET_FUZZ_COUNT  requests (default 100000)     CRICKET_FUZZ_SEED  seed (default: random)
//   CRICKET_FUZZ_PODS   pods made from the valid base (default 60)
//   CRICKET_TEST_SLOT   the test slot whose bridge, subnet and directories the daemon uses
// Prints requests, seconds, crashes and statuses by code; exits non-zero when an invariant broke.
import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { bridgeAndGenerations, ISOLATED_NETWORK, startCricket, TEST_CGROUP_PARENT } from '../dist/test/harness/cricket.js';
import { runCampaign } from '../dist/test/harness/fuzz-campaign.js';
import { alive, escapes, inconsistencies, mkfifo, quietSnapshot, removeEverything } from '../dist/test/harness/fuzz-checks.js';

const seed = Number(process.env.CRICKET_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const count = Number(process.env.CRICKET_FUZZ_COUNT ?? 100_000);
const maxPods = Number(process.env.CRICKET_FUZZ_PODS ?? 60);
console.log(`fuzz: seed ${seed}, ${count} requests (CRICKET_FUZZ_SEED=${seed} reproduces the request sequence)`);

// UpdateRuntimeConfig in the campaign re-addresses the bridge: a bridge of its own, removed after.
const d = await startCricket({ network: ISOLATED_NETWORK });
const problems = [];
let crashes = 0;
try {
  const dir = join(d.dir, 'fuzz');
  mkdirSync(join(dir, 'host'), { recursive: true });
  mkfifo(join(dir, 'fifo'));
  const before = quietSnapshot();
  const pid = d.pid();
  const report = await runCampaign({ socket: d.socket, dir, seed, count, concurrency: 8, maxPods });
  if (!alive(pid)) {
    crashes = 1;
    problems.push(`the daemon (pid ${pid}) died`);
  }
  console.log(`requests ${report.requests}`);
  console.log(`seconds ${report.seconds.toFixed(1)} (${Math.round(report.requests / report.seconds)} requests/s)`);
  console.log(`crashes ${crashes}`);
  console.log(`pods made ${report.podsMade}, containers made ${report.containersMade}`);
  console.log('statuses by code:');
  for (const [code, n] of Object.entries(report.byCode).sort((a, b) => b[1] - a[1])) console.log(`  ${code.padEnd(20)} ${n}`);
  for (const s of report.suspicious) problems.push(`#${s.index} ${s.method} ${s.code}: ${s.details} request(base64)=${s.request}`);
  if (!crashes) {
    await d.cri.runtime.call('Version', {});
    problems.push(...(await inconsistencies(d)));
    const left = await removeEverything(d);
    if (left.pods || left.containers) problems.push(`left after removing everything: ${JSON.stringify(left)}`);
  }
  problems.push(...escapes(dir, d.dir).map((p) => `written outside: ${p}`));
  if (JSON.stringify(quietSnapshot()) !== JSON.stringify(before)) problems.push('/ or /etc changed');
} finally {
  await d.stop().catch((err) => problems.push(`stopping the daemon: ${err.message}`));
  for (const bridge of bridgeAndGenerations(ISOLATED_NETWORK.bridge)) spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
  // runc made the test cgroup parent for the pods; like the suite's leftover check, remove it
  // once empty (a non-empty one is a leftover and stays for inspection).
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const dir = join('/sys/fs/cgroup', hierarchy, TEST_CGROUP_PARENT);
    if (!existsSync(dir)) continue;
    try {
      rmdirSync(dir);
    } catch (err) {
      problems.push(`cgroup ${dir} left: ${err.message}`);
    }
  }
}
for (const p of problems) console.log(`PROBLEM ${p}`);
console.log(problems.length ? `${problems.length} problems (seed ${seed})` : 'no problems');
process.exitCode = problems.length ? 1 : 0;
