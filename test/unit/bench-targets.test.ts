import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeTargets, performanceTargets, type Figures } from '../../bench/targets.js';

const RELIST = 'relist at 100 pods, grpc-go client';
const LIFECYCLE = 'lifecycle, grpc-go client';
const specs = performanceTargets({ pods: 50, relistPods: 100, relistSection: RELIST, lifecycleSection: LIFECYCLE });

/** A run in which every figure of cricket is `share` of the other runtime's. */
function run(share: number): Figures {
  const figures: Figures = {};
  for (const spec of specs) figures[spec.figure] = spec.own ? { cricket: 0.9 } : { cricket: share * 10, containerd: 10 };
  figures['burst | start errors'] = { cricket: 0, containerd: 0 };
  figures['burst | teardown errors'] = { cricket: 0, containerd: 0 };
  return figures;
}

const verdict = (figures: Figures, figure: string) => judgeTargets(figures, 'cricket', 'containerd', specs).find((v) => v.figure === figure)!;

test('every target reads a figure the side-by-side run writes, the relist and lifecycle ones from the sections asked for', () => {
  const figures = specs.map((s) => s.figure);
  assert.ok(figures.includes(`${LIFECYCLE} | Create+StartContainer p50 ms`));
  assert.ok(figures.includes(`${LIFECYCLE} | pod+container from scratch p50 ms`));
  assert.ok(figures.includes(`${LIFECYCLE} | RemoveContainer p50 ms`));
  // The CPU is counted in the grpc-js lifecycle, which runs one runtime at a time.
  assert.ok(figures.includes('lifecycle | CPU s per lifecycle (total)'));
  assert.equal(figures.filter((f) => f.startsWith('lifecycle |')).length, 1);
  assert.ok(figures.includes('burst | 50 pods start s'));
  assert.ok(figures.includes(`${RELIST} | PodSandboxStatus p99 ms`));
  assert.ok(figures.includes('memory | daemon+helpers RSS at 100 pods MiB'));
  assert.equal(figures.filter((f) => f.startsWith(`${RELIST} |`)).length, 10);
  assert.equal(new Set(figures).size, figures.length);
});

test('a ratio at or under its limit holds; over it, it misses', () => {
  const all = judgeTargets(run(0.5), 'cricket', 'containerd', specs);
  const byLimit = (limit: number) => all.filter((v) => !v.own && v.limit === limit);
  assert.ok(byLimit(0.5).every((v) => v.holds && v.value === 0.5));
  assert.ok(byLimit(0.7).every((v) => v.holds));
  const over = judgeTargets(run(0.71), 'cricket', 'containerd', specs);
  assert.ok(over.filter((v) => v.limit === 0.5 || v.limit === 0.7).every((v) => !v.holds));
  assert.ok(over.filter((v) => v.limit === 1.0).every((v) => v.holds));
});

test("the RSS after a cycle is cricket's own figure, not a ratio", () => {
  const figures = run(0.1);
  figures['memory | after/idle RSS'] = { cricket: 1.25, containerd: 0.5 };
  const v = verdict(figures, 'memory | after/idle RSS');
  assert.equal(v.value, 1.25);
  assert.equal(v.holds, false);
});

test('a burst with errors misses however fast it was', () => {
  const figures = run(0.1);
  figures['burst | start errors'] = { cricket: 2, containerd: 0 };
  assert.equal(verdict(figures, 'burst | 50 pods start s').holds, false);
  assert.equal(verdict(figures, 'burst | 50 pods teardown s').holds, true);
});

test('a figure missing on either side, or a zero to divide by, is no verdict and does not hold', () => {
  const figures = run(0.1);
  delete figures[`${LIFECYCLE} | RemoveContainer p50 ms`]!.containerd;
  figures['lifecycle | CPU s per lifecycle (total)'] = { cricket: 0, containerd: 0 };
  delete figures['burst | teardown errors'];
  for (const figure of [`${LIFECYCLE} | RemoveContainer p50 ms`, 'lifecycle | CPU s per lifecycle (total)']) {
    const v = verdict(figures, figure);
    assert.equal(v.value, undefined);
    assert.equal(v.holds, false);
  }
  assert.equal(verdict(figures, 'burst | 50 pods teardown s').holds, false);
});
