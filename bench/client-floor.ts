// The client's own share of a Status call: the benchmark's client (grpc-js, built from proto/)
// against servers in a process of their own that answer at once with fixed bytes
// (floor-servers.ts). No runtime answers faster than these, so a runtime's figure minus this
// floor is what the runtime itself costs, and a target below the floor is out of reach with
// this client.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { criClients } from '../test/client/cri.js';
import { TEST_PREFIX } from '../test/harness/cricket.js';

export interface FloorFigures {
  p50: number;
  p99: number;
}

async function measure(socket: string, rounds: number, warmup: number): Promise<FloorFigures> {
  const cri = criClients(socket, { deadlineMs: 10_000 });
  const samples: number[] = [];
  try {
    for (let i = -warmup; i < rounds; i++) {
      const t = process.hrtime.bigint();
      await cri.runtime.call('PodSandboxStatus', { pod_sandbox_id: 'f'.repeat(64) });
      if (i >= 0) samples.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  } finally {
    cri.close();
  }
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(samples.length / 2)]!, p99: samples[Math.min(samples.length - 1, Math.floor(samples.length * 0.99))]! };
}

/** Both floors, with the given number of counted calls after an uncounted warm-up. */
export async function clientFloor(rounds = 2000, warmup = 300): Promise<{ grpcJs: FloorFigures; http2: FloorFigures }> {
  const dir = mkdtempSync(`${TEST_PREFIX}bench-floor-`);
  const sockets = [join(dir, 'grpc-js.sock'), join(dir, 'http2.sock')] as const;
  const servers = spawn(process.execPath, [fileURLToPath(new URL('./floor-servers.js', import.meta.url)), ...sockets], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const [first] = (await Promise.race([once(servers.stdout!, 'data'), once(servers, 'exit')])) as [Buffer | number];
    if (!Buffer.isBuffer(first) || !first.toString().startsWith('ready')) throw new Error('the floor servers did not start');
    return { grpcJs: await measure(sockets[0], rounds, warmup), http2: await measure(sockets[1], rounds, warmup) };
  } finally {
    servers.stdin!.end();
    if (servers.exitCode === null) await once(servers, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}
