// The Prometheus endpoint: parsed from its text format, its histograms move when a pod starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { useCricket, waitFor } from '../harness/cricket.js';
import { cliOk, playFlags, EXAMPLES } from '../harness/play.js';
import { join } from 'node:path';

const d = useCricket({ configToml: '[metrics]\nenabled = true\naddress = "127.0.0.1"\nport = 0\n' });

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('timeout', () => req.destroy(new Error('metrics GET timed out')));
    req.on('error', reject);
  });
}

type Samples = Map<string, number>;

/** The text exposition format: `name{labels} value` lines; # HELP / # TYPE skipped but checked. */
function parseMetrics(text: string): { samples: Samples; types: Map<string, string> } {
  const samples: Samples = new Map();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return { samples, types };
}

async function scrape(url: string) {
  const res = await get(url);
  assert.equal(res.status, 200);
  assert.match(res.type, /^text\/plain; version=0\.0\.4/);
  return parseMetrics(res.body);
}

test('metrics: RPC histograms and errors, pod start steps, pods and containers by state, process figures', async () => {
  const url = await waitFor('the metrics URL in the daemon log', () => {
    const m = /"metrics":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(readFileSync(d.logFile, 'utf8'));
    return m?.[1];
  });
  const before = await scrape(url);
  assert.equal(before.types.get('cricket_rpc_duration_seconds'), 'histogram');
  assert.equal(before.types.get('cricket_pod_start_step_duration_seconds'), 'histogram');
  assert.equal(before.samples.get('cricket_pods{state="ready"}'), 0);
  assert.ok((before.samples.get('cricket_process_resident_memory_bytes') ?? 0) > 0, 'process metrics');
  const runBefore = before.samples.get('cricket_rpc_duration_seconds_count{method="RunPodSandbox",code="OK"}') ?? 0;

  const primesBefore = before.samples.get('cricket_cgroup_lock_prime_duration_seconds_count') ?? 0;
  const daemonCgroups = readFileSync(`/proc/${d.pid()}/cgroup`, 'utf8');

  const file = join(EXAMPLES, 'two-containers.yaml');
  await cliOk(['play', ...playFlags(d), '--wait', file]);
  // A call that fails, counted by its code.
  await assert.rejects(d.cri.runtime.call('ContainerStatus', { container_id: 'no-such-container' }));

  const after = await scrape(url);
  const s = after.samples;
  assert.equal(s.get('cricket_rpc_duration_seconds_count{method="RunPodSandbox",code="OK"}'), runBefore + 1);
  assert.ok((s.get('cricket_rpc_duration_seconds_count{method="CreateContainer",code="OK"}') ?? 0) >= 2);
  assert.ok((s.get('cricket_rpc_duration_seconds_sum{method="StartContainer",code="OK"}') ?? 0) > 0);
  assert.equal(s.get('cricket_rpc_duration_seconds_bucket{le="+Inf",method="RunPodSandbox",code="OK"}'), runBefore + 1);
  assert.ok((s.get('cricket_rpc_errors_total{method="ContainerStatus",code="NOT_FOUND"}') ?? 0) >= 1);
  for (const step of ['total', 'persist', 'netns', 'bundle', 'pause', 'cniAdd', 'podFiles', 'finish']) {
    assert.equal(s.get(`cricket_pod_start_step_duration_seconds_count{step="${step}"}`), 1, `step ${step}`);
  }
  for (const step of ['rootfsMount', 'runcCreate', 'start']) {
    assert.equal(s.get(`cricket_container_start_step_duration_seconds_count{step="${step}"}`), 2, `container step ${step}`);
  }
  assert.equal(s.get('cricket_pods{state="ready"}'), 1);
  // The no-op cgroup moves ahead of runc happened, and left the daemon where it was.
  assert.equal(after.types.get('cricket_cgroup_lock_prime_duration_seconds'), 'histogram');
  assert.ok((s.get('cricket_cgroup_lock_prime_duration_seconds_count') ?? 0) > primesBefore, 'cgroup lock primes');
  assert.equal(readFileSync(`/proc/${d.pid()}/cgroup`, 'utf8'), daemonCgroups);
  assert.ok((s.get('cricket_containers{state="running"}') ?? 0) + (s.get('cricket_containers{state="exited"}') ?? 0) === 2);

  const notFound = await get(url.replace('/metrics', '/other'));
  assert.equal(notFound.status, 404);
  await cliOk(['play', ...playFlags(d), '--down', '--grace-period', '1', file]);
  const end = await scrape(url);
  assert.equal(end.samples.get('cricket_pods{state="ready"}'), 0);
});
