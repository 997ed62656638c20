// The start-step histograms come from the runtime's own timeline, not from its log: with the
// daemon logging warnings only, a pod start still moves them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useCricket } from '../harness/cricket.js';
import { cliOk, playFlags, EXAMPLES } from '../harness/play.js';

/** A loopback port free right now: the daemon's log (warn level) will not name the one it gets. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const port = await freePort();
const d = useCricket({
  configToml: `[metrics]\nenabled = true\naddress = "127.0.0.1"\nport = ${port}\n`,
  env: { CRICKET_LOG_LEVEL: 'warn' },
});

function scrape(): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://127.0.0.1:${port}/metrics`, { timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        const samples = new Map<string, number>();
        for (const line of body.split('\n')) {
          const m = /^(cricket_\S+) (\S+)$/.exec(line);
          if (m) samples.set(m[1]!, Number(m[2]));
        }
        resolve(samples);
      });
    });
    req.on('timeout', () => req.destroy(new Error('metrics GET timed out')));
    req.on('error', reject);
  });
}

test('metrics: start-step histograms move with the daemon logging at warn', async () => {
  assert.ok(!readFileSync(d.logFile, 'utf8').includes('"level":30'), 'the daemon writes no info records');
  const before = await scrape();
  for (const step of ['total', 'persist', 'pause', 'cniAdd', 'finish']) {
    assert.equal(before.get(`cricket_pod_start_step_duration_seconds_count{step="${step}"}`) ?? 0, 0, `step ${step} before`);
  }
  const file = join(EXAMPLES, 'two-containers.yaml');
  await cliOk(['play', ...playFlags(d), '--wait', file]);
  const after = await scrape();
  for (const step of ['total', 'persist', 'netns', 'bundle', 'pause', 'cniAdd', 'podFiles', 'finish']) {
    assert.equal(after.get(`cricket_pod_start_step_duration_seconds_count{step="${step}"}`), 1, `step ${step}`);
  }
  assert.ok((after.get('cricket_pod_start_step_duration_seconds_sum{step="total"}') ?? 0) > 0, 'the start took time');
  assert.equal(after.get('cricket_container_start_step_duration_seconds_count{step="start"}'), 2);
  assert.ok(!readFileSync(d.logFile, 'utf8').includes('pod sandbox ready'), 'the ready record was not logged');
  await cliOk(['play', ...playFlags(d), '--down', '--grace-period', '1', file]);
});
