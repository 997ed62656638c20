// The relist calls and the pod lifecycles made by grpc-go, kubelet's own gRPC library
// (go-client/main.go), next to the grpc-js client's: a Node client spends more of each call in
// itself than kubelet does, and that share is the same for every runtime. `npm run bench` builds
// the program when Go and Debian's grpc-go are installed; without it these runs are left out.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeRuntimeRequest, type Message } from '../test/client/cri.js';

export const GO_CLIENT = fileURLToPath(new URL('../../build/bench/cri-go-client', import.meta.url));

export interface GoClientTarget {
  name: string;
  socket: string;
  pods: { pod: string; container: string }[];
}

/** The requests of one lifecycle that carry the pod's configuration, encoded. */
export interface GoLifecycleRequests {
  /** RunPodSandboxRequest. */
  run: Uint8Array;
  /** CreateContainerRequest without its pod_sandbox_id, which the client puts in front. */
  create: Uint8Array;
}

/**
 * The requests of a lifecycle of `pod` with `container` in it, on `runtimeHandler` (the
 * default's when empty); CreateContainer's pod id is put in front by the client.
 */
export function lifecycleRequests(pod: Message, container: Message, runtimeHandler = ''): GoLifecycleRequests {
  return {
    run: encodeRuntimeRequest('RunPodSandbox', { config: pod, runtime_handler: runtimeHandler }),
    create: encodeRuntimeRequest('CreateContainer', { config: container, sandbox_config: pod }),
  };
}

export interface GoLifecycleTarget {
  name: string;
  socket: string;
  /** One per lifecycle, the warm-up's first. */
  lifecycles: GoLifecycleRequests[];
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
  return runGoClient({ mode: 'relist', targets, rounds, warmup, statsEvery, warmupStatsEvery: 40 });
}

/**
 * Runs kubelet's calls for each lifecycle with the Go client (RunPodSandbox, CreateContainer,
 * StartContainer, ContainerStatus, StopContainer with `stopTimeoutS`, RemoveContainer,
 * StopPodSandbox, RemovePodSandbox), one runtime after the other; the first `warmup` of each are
 * not counted. Samples by RPC name, in lifecycle order.
 */
export async function goClientLifecycles(targets: GoLifecycleTarget[], warmup: number, stopTimeoutS: number): Promise<GoClientSamples> {
  const encoded = targets.map((t) => ({
    ...t,
    lifecycles: t.lifecycles.map((l) => ({ run: Buffer.from(l.run).toString('base64'), create: Buffer.from(l.create).toString('base64') })),
  }));
  return runGoClient({ mode: 'lifecycle', targets: encoded, warmup, stopTimeout: stopTimeoutS });
}

async function runGoClient(plan: object): Promise<GoClientSamples> {
  const child = spawn(GO_CLIENT, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  child.stdin.end(JSON.stringify(plan));
  const code = await exited;
  if (code !== 0) throw new Error(`cri-go-client exited with ${code}: ${stderr.trim()}`);
  return JSON.parse(stdout) as GoClientSamples;
}
