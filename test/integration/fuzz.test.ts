// Thousands of random, boundary and malformed requests across every RPC: the daemon stays up,
// answers each with a typed status, writes nowhere it should not, and leaves no half-made pod.
// CRICKET_FUZZ_SEED and CRICKET_FUZZ_COUNT reproduce or lengthen a run (`npm run fuzz` runs a
// longer campaign).
import { after, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bridgeAndGenerations, ISOLATED_NETWORK, useCricket } from '../harness/cricket.js';
import { criMethods, runCampaign } from '../harness/fuzz-campaign.js';
import { alive, escapes, inconsistencies, mkfifo, quietSnapshot, removeEverything } from '../harness/fuzz-checks.js';

// The campaign's UpdateRuntimeConfig calls re-address the daemon's bridge: it gets one of its own.
const d = useCricket({ network: ISOLATED_NETWORK });
after(() => {
  for (const bridge of bridgeAndGenerations(ISOLATED_NETWORK.bridge)) spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
});

/**
 * Failures whose fix belongs outside the RPC layer, matched narrowly; each is printed. None is
 * open; an entry is added only with the defect it names, and removed with its fix.
 */
const KNOWN_ELSEWHERE: { where: string; pattern: RegExp }[] = [];

test('every RPC survives a seeded fuzz campaign', { timeout: 600_000 }, async (t) => {
  const seed = Number(process.env.CRICKET_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const count = Number(process.env.CRICKET_FUZZ_COUNT ?? 10_000);
  t.diagnostic(`fuzz seed ${seed} (CRICKET_FUZZ_SEED=${seed} CRICKET_FUZZ_COUNT=${count} reproduces the request sequence)`);
  const dir = join(d.dir, 'fuzz');
  mkdirSync(join(dir, 'host'), { recursive: true });
  mkfifo(join(dir, 'fifo'));
  const before = quietSnapshot();
  const pid = d.pid();

  const report = await runCampaign({ socket: d.socket, dir, seed, count, concurrency: 8, maxPods: 30 });

  t.diagnostic(`requests ${report.requests}, seconds ${report.seconds.toFixed(1)}, crashes ${alive(pid) ? 0 : 1}, pods made ${report.podsMade}, containers made ${report.containersMade}`);
  t.diagnostic(`statuses ${JSON.stringify(report.byCode)}`);
  const slowest = Object.entries(report.msByMethod).sort((a, b) => b[1] - a[1]).slice(0, 5);
  t.diagnostic(`time waited by RPC (ms): ${slowest.map(([m, ms]) => `${m} ${Math.round(ms)}`).join(', ')}`);
  for (const s of report.suspicious.slice(0, 20)) t.diagnostic(`suspicious #${s.index} ${s.method} ${s.code}: ${s.details} request(base64)=${s.request.slice(0, 1500)}`);

  assert.ok(alive(pid), `the daemon (pid ${pid}) died during the campaign (seed ${seed})`);
  const version = await d.cri.runtime.call<{ runtime_name: string }>('Version', {});
  assert.equal(version.runtime_name, 'cricket');
  assert.equal(report.requests, count);
  const methods = criMethods().map((m) => m.name);
  assert.deepEqual(methods.filter((m) => !report.byMethod[m]), [], 'every RPC was called');
  const unexplained = report.suspicious.map((s) => `${s.method} ${s.code}: ${s.details}`).filter((line) => {
    const known = KNOWN_ELSEWHERE.find((k) => k.pattern.test(line));
    if (known) t.diagnostic(`known, to be fixed in ${known.where}: ${line}`);
    return !known;
  });
  assert.deepEqual(unexplained, [], `untyped or internal answers, or calls that hung (seed ${seed})`);
  assert.ok(report.podsMade > 0, 'the campaign made real pods');
  assert.ok(report.podsMade <= 30 + 8, `pods stay bounded (${report.podsMade})`);

  assert.deepEqual(await inconsistencies(d), [], 'pods and containers are whole');
  assert.deepEqual(await removeEverything(d), { pods: 0, containers: 0 });
  assert.deepEqual(escapes(dir, d.dir), [], 'nothing was written outside the directories the requests named');
  assert.deepEqual(quietSnapshot(), before, '/ and /etc are unchanged');
});
