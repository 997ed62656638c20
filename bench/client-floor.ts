// The client's own share of a Status call: the benchmark's client (grpc-js, built from proto/)
// against servers in a process of their own that answer at once with fixed bytes
// (floor-servers.ts). No runtime answers faster than these, so a runtime's figure minus this
// floor is what the runtime itself costs, and a target below the floor is out of reach with
// this client. The floor is taken twice: calls back to back, as in the relist, and calls after
// the client and the servers have been idle a while, as the lifecycle's calls are (HTTP/2 and
// gRPC code run cold costs several times what it costs warm, on both ends).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { criClients } from '../test/client/cri.js';
import { TEST_PREFIX } from '../test/harness/cricket.js';
import { percentile } from './percentiles.js';

export interface FloorFigures {
  p50: number;
  p99: number;
}

export interface ServerFloors {
  grpcJs: FloorFigures;
  cricket: FloorFigures;
  http2: FloorFigures;
}

export interface ClientFloor extends ServerFloors {
  /** The same servers, each call made after `gapMs` without any. */
  afterIdle: ServerFloors & { gapMs: number; rounds: number };
}

function figures(samples: number[]): FloorFigures {
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/**
 * One call to each server in turn, round after round, so that whatever else the machine does
 * falls on all of them alike.
 */
async function measure(sockets: readonly string[], rounds: number, warmup: number, gapMs = 0): Promise<FloorFigures[]> {
  const clients = sockets.map((socket) => criClients(socket, { deadlineMs: 10_000 }));
  const samples: number[][] = sockets.map(() => []);
  try {
    for (let i = -warmup; i < rounds; i++) {
      for (const [k, cri] of clients.entries()) {
        if (gapMs > 0) await sleep(gapMs);
        const t = process.hrtime.bigint();
        await cri.runtime.call('PodSandboxStatus', { pod_sandbox_id: 'f'.repeat(64) });
        if (i >= 0) samples[k]!.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }
  } finally {
    for (const cri of clients) cri.close();
  }
  return samples.map(figures);
}

/** Servers from the floor's list, in the order of its sockets. */
const asFloors = ([grpcJs, cricket, http2]: FloorFigures[]): ServerFloors => ({ grpcJs: grpcJs!, cricket: cricket!, http2: http2! });

/**
 * The three floors, with the given number of counted calls each after an uncounted warm-up; then
 * `idleRounds` calls each, every one after `gapMs` of quiet.
 */
export async function clientFloor(rounds = 2000, warmup = 300, idleRounds = 60, gapMs = 30): Promise<ClientFloor> {
  const dir = mkdtempSync(`${TEST_PREFIX}bench-floor-`);
  const sockets = [join(dir, 'grpc-js.sock'), join(dir, 'cricket.sock'), join(dir, 'http2.sock')] as const;
  const servers = spawn(process.execPath, [fileURLToPath(new URL('./floor-servers.js', import.meta.url)), ...sockets], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const [first] = (await Promise.race([once(servers.stdout!, 'data'), once(servers, 'exit')])) as [Buffer | number];
    if (!Buffer.isBuffer(first) || !first.toString().startsWith('ready')) throw new Error('the floor servers did not start');
    const warm = asFloors(await measure(sockets, rounds, warmup));
    const afterIdle = asFloors(await measure(sockets, idleRounds, 3, gapMs));
    return { ...warm, afterIdle: { ...afterIdle, gapMs, rounds: idleRounds } };
  } finally {
    servers.stdin!.end();
    if (servers.exitCode === null) await once(servers, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}
