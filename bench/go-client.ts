// The relist calls made by grpc-go, kubelet's own gRPC library (go-client/main.go), next to the
// grpc-js client of the other scenarios: a Node client spends more of each call in itself than
// kubelet does, and that share is the same for every runtime. `npm run bench` builds the program
// when Go and Debian's grpc-go are installed; without it this scenario is left out.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const GO_CLIENT = fileURLToPath(new URL('../../build/bench/cri-go-client', import.meta.url));

export interface GoClientTarget {
  name: string;
  socket: string;
  pods: { pod: string; container: string }[];
}

/** Latency samples in ms per target, then per figure (the grpc-js relist's figure names). */
export type GoClientSamples = Record<string, Record<string, number[]>>;

export function goClientBuilt(): boolean {
  return existsSync(GO_CLIENT);
}

/**
 * Runs the relist rounds with the Go client, every runtime in turn, round by round, stats calls
 * in every `statsEvery`th, after `warmup` rounds that are not counted (stats calls in every 40th
 * of them, as in the grpc-js relist).
 */
export async function goClientRelist(targets: GoClientTarget[], rounds: number, statsEvery: number, warmup: number): Promise<GoClientSamples> {
  const child = spawn(GO_CLIENT, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  child.stdin.end(JSON.stringify({ targets, rounds, warmup, statsEvery, warmupStatsEvery: 40 }));
  const code = await exited;
  if (code !== 0) throw new Error(`cri-go-client exited with ${code}: ${stderr.trim()}`);
  return JSON.parse(stdout) as GoClientSamples;
}
