// Once a wave of pod removals has passed, the daemon compacts its heap and trims the C heap:
// `cricket serve` runs node with --expose-gc for it and a capped young generation, and its log
// says what came back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { useCricket, waitFor } from '../harness/cricket.js';
import { podConfig, runPod } from '../harness/pods.js';
import { DAEMON_SEMI_SPACE_MIB } from '../../src/process/node-flags.js';

const d = useCricket({ env: { CRICKET_LOG_LEVEL: 'debug' } });

interface Returned {
  ms: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
}

function returned(): Returned[] {
  return readFileSync(d.logFile, 'utf8')
    .split('\n')
    .filter((line) => line.includes('"memory returned after pod removals"'))
    .map((line) => JSON.parse(line) as Returned);
}

test('after pods are removed, the daemon gives memory back once, not per pod', async () => {
  const cmdline = readFileSync(`/proc/${d.pid()}/cmdline`, 'utf8').split('\0');
  assert.ok(cmdline.includes('--expose-gc'), cmdline.join(' '));
  assert.ok(cmdline.includes(`--max-semi-space-size=${DAEMON_SEMI_SPACE_MIB}`), cmdline.join(' '));
  const before = returned().length;
  const pods: string[] = [];
  for (let i = 0; i < 4; i++) pods.push((await runPod(d, podConfig(d, `memory-return-${i}`))).id);
  for (const id of pods) {
    await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
    await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
  }
  const runs = await waitFor('a compaction after the removals', () => (returned().length > before ? returned().slice(before) : undefined), 10_000);
  assert.equal(runs.length, 1, 'one compaction for the wave');
  assert.ok(runs[0]!.rssAfterMiB <= runs[0]!.rssBeforeMiB + 1, JSON.stringify(runs[0]));
  assert.ok(runs[0]!.ms < 2000, JSON.stringify(runs[0]));
});
