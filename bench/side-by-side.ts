// npm run bench -- --vs ENDPOINT | --with-containerd: the same CRI requests to a private cricket
// and to another CRI runtime in one run, scenario by scenario, each figure for both and the ratio
// cricket/other. The other runtime is reached at its unix socket; its daemon pid (--vs-pid) and a
// string its per-pod helpers carry on their command line (--vs-helper, with --vs-helper-comm)
// give its CPU and memory. Everything this makes is removed at the end.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { criClients, type CriClients, type Message } from '../test/client/cri.js';
import { BUSYBOX, startCricket, TEST_BRIDGE, TEST_CGROUP_PARENT, TEST_PREFIX, type TestDaemon } from '../test/harness/cricket.js';
import { KUBELET_NAMESPACE_OPTIONS } from '../test/harness/pods.js';
import { clientFloor, type ClientFloor, type ServerFloors } from './client-floor.js';
import { goClientBuilt, goClientLifecycles, goClientRelist, lifecycleRequests } from './go-client.js';
import { percentile } from './percentiles.js';
import { busyShare, cpuSeconds, HelperWatch, machineTicks, rssMiB } from './proc-stats.js';
import { runtimeFloor, type FloorFigures, type RuntimeFloor } from './runtime-floor.js';
import { judgeTargets, performanceTargets, type Figures, type Verdict } from './targets.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const VS = arg('--vs')?.replace(/^unix:(\/\/)?/, '');
const VS_PID = Number(arg('--vs-pid') ?? 0);
const VS_REAPER_PID = Number(arg('--vs-reaper-pid') ?? 0);
const VS_HELPER = arg('--vs-helper');
const VS_HELPER_COMM = new RegExp(arg('--vs-helper-comm') ?? '^containerd-shim');
const VS_NAME = arg('--vs-name') ?? 'other';
const PODS = Number(arg('--pods') ?? 50);
/** Bursts of PODS pods on each runtime; the median counts. */
const BURST_ROUNDS = Number(arg('--bursts') ?? 3);
const SEQ = Number(arg('--lifecycles') ?? 20);
const RELIST_PODS = Number(arg('--relist-pods') ?? 100);
// A p99 is the 1% of calls that took longest: 500 rounds leave five calls of each kind above it,
// where 200 left two, and a single slow call moved it.
const RELIST_ROUNDS = Number(arg('--relist-rounds') ?? 500);
const RELIST_WARMUP = Number(arg('--relist-warmup') ?? 1000);
// The grpc-go relist, whose figures the targets read: 3000 rounds, so that a p99 is the 30th
// slowest call of a kind (on one daemon, four 1000-round runs in a row put cricket's
// ContainerStatus p99 anywhere from 0.25 to 0.46 ms; four of 3000, 0.17-0.31), and the stats
// calls every 12th round, 250 of each as before: kubelet asks for stats every 10-15 seconds and
// relists every second.
const GO_RELIST_ROUNDS = Number(arg('--go-relist-rounds') ?? 3000);
const GO_STATS_EVERY = 12;
const JSON_OUT = process.argv.includes('--json');
/** The relist's sections: made by the grpc-js client, and by grpc-go (kubelet's library) when Go is here. */
const RELIST_JS = `relist at ${RELIST_PODS} pods`;
const RELIST_GO = `relist at ${RELIST_PODS} pods, grpc-go client`;
/** The lifecycle's sections, likewise. */
const LIFECYCLE_JS = 'lifecycle';
const LIFECYCLE_GO = 'lifecycle, grpc-go client';
const LIFECYCLE_RPCS = ['RunPodSandbox', 'CreateContainer', 'StartContainer', 'ContainerStatus', 'StopContainer', 'RemoveContainer', 'StopPodSandbox', 'RemovePodSandbox'];
const CPU_PROF = arg('--cpu-prof');
const FORKS = process.argv.includes('--forks');
/** The RuntimeClass handler every pod runs with, on both sides ('' for the default, runc). */
const HANDLER = arg('--handler') ?? '';

interface Target {
  name: string;
  /** The runtime's unix socket, for the Go client. */
  socket: string;
  cri: CriClients;
  /** The daemon's pid, and (cricket) the reaper it runs under, whose own CPU counts too. */
  pids(): number[];
  /**
   * The child subreaper the daemon runs under, if any: the per-pod processes that leave the daemon
   * (pause, conmon, shims) end up its children, and what they spent, with all they reaped in turn
   * (runc, containers), is in its children's CPU once they exit.
   */
  reaper?: number;
  helpers: HelperWatch;
  cgroupParent: string;
  logs: string;
  restart?: () => Promise<void>;
}

const results: Figures = {};
const note = (scenario: string, target: string, key: string, value: number) => {
  ((results[`${scenario} | ${key}`] ??= {})[target] = value);
};

async function timed<T>(samples: number[] | undefined, fn: () => Promise<T>): Promise<T> {
  const t = process.hrtime.bigint();
  const value = await fn();
  samples?.push(Number(process.hrtime.bigint() - t) / 1e6);
  return value;
}

/**
 * A pod as kubelet asks for it. kubelet's namespace options go with the pod and with each
 * container: without them a runtime takes the CRI's default, one PID namespace for the pod, and
 * containerd reads a container's own options where cricket reads the pod's.
 */
function pod(t: Target, name: string): Message {
  const uid = randomUUID();
  const logDirectory = join(t.logs, uid);
  mkdirSync(logDirectory, { recursive: true });
  return {
    metadata: { name, namespace: 'bench', uid, attempt: 0 },
    hostname: name,
    log_directory: logDirectory,
    labels: { app: name },
    linux: { cgroup_parent: `/${t.cgroupParent}`, security_context: { namespace_options: KUBELET_NAMESPACE_OPTIONS } },
  };
}

// The app leaves on SIGTERM, as a well-behaved workload does, so StopContainer measures the
// runtime and not a grace period.
const APP = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];
function container(name: string): Message {
  return { metadata: { name, attempt: 0 }, image: { image: BUSYBOX }, command: APP, log_path: `${name}.log`, linux: { security_context: { namespace_options: KUBELET_NAMESPACE_OPTIONS } } };
}

interface Made { pod: string; container: string }

async function runPodWithContainer(t: Target, name: string, samples?: Record<string, number[]>): Promise<Made> {
  const call = t.cri.runtime.call.bind(t.cri.runtime);
  const config = pod(t, name);
  const { pod_sandbox_id } = await timed(samples?.RunPodSandbox, () => call<{ pod_sandbox_id: string }>('RunPodSandbox', { config, runtime_handler: HANDLER }));
  const { container_id } = await timed(samples?.CreateContainer, () =>
    call<{ container_id: string }>('CreateContainer', { pod_sandbox_id, config: container('app'), sandbox_config: config }));
  await timed(samples?.StartContainer, () => call('StartContainer', { container_id }));
  return { pod: pod_sandbox_id, container: container_id };
}

async function teardown(t: Target, m: Made): Promise<void> {
  await t.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: m.pod });
  await t.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: m.pod });
}

const daemonCpu = (t: Target) => t.pids().reduce((s, pid, i) => s + cpuSeconds(pid, i === 0), 0);
/** CPU seconds of the per-pod processes the reaper has reaped so far; undefined without a reaper. */
const reapedCpu = (t: Target) => (t.reaper ? cpuSeconds(t.reaper, true) - cpuSeconds(t.reaper, false) : undefined);

/** Waits (up to 5 s) until none of the runtime's per-pod helpers is left, then a little more for the reaper. */
async function helpersGone(t: Target): Promise<void> {
  for (let waited = 0; waited < 5000 && t.helpers.rss().count > 0; waited += 50) await sleep(50);
  await sleep(300);
}
const daemonRss = (t: Target) => rssMiB(t.pids()[0]!);

/** The latencies of a section's lifecycles: each RPC's p50 and p99, and the sums the targets read. */
function noteLifecycleLatencies(section: string, name: string, samples: Record<string, number[]>): void {
  for (const r of LIFECYCLE_RPCS) {
    note(section, name, `${r} p50 ms`, percentile(samples[r]!, 50));
    note(section, name, `${r} p99 ms`, percentile(samples[r]!, 99));
  }
  // Per lifecycle, then the median of the sums.
  const sum = (k: string[]) => percentile(samples[k[0]!]!.map((_, i) => k.reduce((s, r) => s + samples[r]![i]!, 0)), 50);
  note(section, name, 'pod+container from scratch p50 ms', sum(['RunPodSandbox', 'CreateContainer', 'StartContainer']));
  note(section, name, 'Create+StartContainer p50 ms', sum(['CreateContainer', 'StartContainer']));
}

/** The kubelet-shaped lifecycle, one pod at a time; per-RPC latency and CPU per lifecycle. */
async function lifecycle(t: Target): Promise<void> {
  const samples: Record<string, number[]> = Object.fromEntries(LIFECYCLE_RPCS.map((r) => [r, []]));
  const call = t.cri.runtime.call.bind(t.cri.runtime);
  // A warm-up lifecycle: first-call costs (page cache, JIT) are not counted.
  await teardown(t, await runPodWithContainer(t, 'warm-up'));
  await helpersGone(t);
  const cpu0 = daemonCpu(t);
  const reaped0 = reapedCpu(t);
  t.helpers.start();
  for (let i = 0; i < SEQ; i++) {
    const m = await runPodWithContainer(t, `seq-${i}`, samples);
    await timed(samples.ContainerStatus, () => call('ContainerStatus', { container_id: m.container }));
    await timed(samples.StopContainer, () => call('StopContainer', { container_id: m.container, timeout: 10 }));
    await timed(samples.RemoveContainer, () => call('RemoveContainer', { container_id: m.container }));
    await timed(samples.StopPodSandbox, () => call('StopPodSandbox', { pod_sandbox_id: m.pod }));
    await timed(samples.RemovePodSandbox, () => call('RemovePodSandbox', { pod_sandbox_id: m.pod }));
  }
  // A helper's CPU is whole once it has exited and been reaped; one polled while it runs misses
  // what it spends after the last poll, and a runtime without a reaper only has the polls.
  await helpersGone(t);
  const polled = t.helpers.stop();
  const reaped = reapedCpu(t);
  const helperCpu = reaped0 === undefined || reaped === undefined ? polled : reaped - reaped0;
  const cpu = daemonCpu(t) - cpu0;
  noteLifecycleLatencies(LIFECYCLE_JS, t.name, samples);
  note(LIFECYCLE_JS, t.name, 'CPU s per lifecycle (daemon)', cpu / SEQ);
  note(LIFECYCLE_JS, t.name, 'CPU s per lifecycle (helpers)', helperCpu / SEQ);
  note(LIFECYCLE_JS, t.name, 'CPU s per lifecycle (total)', (cpu + helperCpu) / SEQ);
}

/**
 * The same lifecycles made by grpc-go, kubelet's library: as with grpc-js, one runtime at a time,
 * once the pods before have left nothing running, after one lifecycle that is not counted. Taking
 * turns lifecycle by lifecycle instead put what one runtime does in the background after a
 * lifecycle (containerd's shim and task clean-up) into the other's turn: containerd's Create+Start
 * came out 0-9 ms quicker taken in turns than alone in each of seven runs.
 */
async function goLifecycles(targets: Target[]): Promise<void> {
  const warmup = 1;
  const plan = targets.map((t) => ({
    name: t.name,
    socket: t.socket,
    lifecycles: Array.from({ length: warmup + SEQ }, (_, i) => lifecycleRequests(pod(t, `go-${i}`), container('app'), HANDLER)),
  }));
  for (const [i, t] of targets.entries()) {
    for (const other of targets) await helpersGone(other);
    const samples = await goClientLifecycles([plan[i]!], warmup, 10);
    noteLifecycleLatencies(LIFECYCLE_GO, t.name, samples[t.name] ?? {});
  }
}

/**
 * The OCI runtime's floor under Create+Start (runtime-floor.ts), with a container cricket created
 * (not started) in a pod of its own as the spec; runc only, the default handler.
 */
async function ociFloor(t: Target, work: string, stateDir: string): Promise<RuntimeFloor | undefined> {
  if (HANDLER && HANDLER !== 'runc') return undefined;
  const call = t.cri.runtime.call.bind(t.cri.runtime);
  const config = pod(t, 'floor');
  const { pod_sandbox_id } = await call<{ pod_sandbox_id: string }>('RunPodSandbox', { config, runtime_handler: HANDLER });
  try {
    const { container_id } = await call<{ container_id: string }>('CreateContainer', { pod_sandbox_id, config: container('app'), sandbox_config: config });
    return await runtimeFloor(join(stateDir, 'containers', container_id, 'config.json'), work, SEQ);
  } finally {
    await teardown(t, { pod: pod_sandbox_id, container: '' });
  }
}

interface BurstResult {
  start: number;
  teardown: number;
  /** Share of the machine's CPU busy while the pods started: near 1, the start is bound by CPU. */
  busyWhileStarting: number;
  /** CPU seconds per pod, start and teardown, of the daemon and every process it left (undefined without a reaper). */
  cpuPerPod?: number;
  startErrors: number;
  teardownErrors: number;
}

/** N pods with one container each, all at once; then all torn down at once. Seconds. */
async function burst(t: Target): Promise<BurstResult> {
  let startErrors = 0;
  let teardownErrors = 0;
  const cpu0 = daemonCpu(t) + (reapedCpu(t) ?? 0);
  const ticks0 = machineTicks();
  let t0 = Date.now();
  const made = (await Promise.all(Array.from({ length: PODS }, (_, i) => runPodWithContainer(t, `burst-${i}`).catch(() => {
    startErrors++;
    return undefined;
  })))).filter((m): m is Made => m !== undefined);
  const start = (Date.now() - t0) / 1000;
  const busyWhileStarting = busyShare(ticks0, machineTicks());
  t0 = Date.now();
  await Promise.all(made.map((m) => teardown(t, m).catch(() => void teardownErrors++)));
  const result: BurstResult = { start, teardown: (Date.now() - t0) / 1000, startErrors, teardownErrors, busyWhileStarting };
  await removeAll(t);
  if (t.reaper) {
    await helpersGone(t);
    result.cpuPerPod = (daemonCpu(t) + reapedCpu(t)! - cpu0) / PODS;
  }
  return result;
}

/**
 * The burst BURST_ROUNDS times on every runtime, taking turns and each going first every other
 * round: one burst is a single sample, two seconds of the whole machine, and the runtime that
 * went first would always follow the same scenario. The median counts; the spread is printed.
 */
async function bursts(targets: Target[]): Promise<void> {
  const results = new Map<Target, BurstResult[]>(targets.map((t) => [t, []]));
  for (let round = 0; round < BURST_ROUNDS; round++) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      process.stderr.write(`[bench] burst ${round + 1} of ${BURST_ROUNDS}: ${t.name}\n`);
      try {
        results.get(t)!.push(await burst(t));
      } catch (err) {
        process.stderr.write(`[bench] burst on ${t.name} failed: ${(err as Error).message}\n`);
        await removeAll(t).catch(() => undefined);
      }
    }
  }
  for (const [t, runs] of results) {
    if (runs.length === 0) continue;
    const starts = runs.map((r) => r.start);
    const teardowns = runs.map((r) => r.teardown);
    note('burst', t.name, `${PODS} pods start s`, percentile(starts, 50));
    note('burst', t.name, `${PODS} pods start s, slowest burst`, Math.max(...starts));
    note('burst', t.name, `${PODS} pods teardown s`, percentile(teardowns, 50));
    note('burst', t.name, `${PODS} pods teardown s, slowest burst`, Math.max(...teardowns));
    note('burst', t.name, 'machine CPU busy while starting', percentile(runs.map((r) => r.busyWhileStarting), 50));
    const cpu = runs.flatMap((r) => (r.cpuPerPod === undefined ? [] : [r.cpuPerPod]));
    if (cpu.length) note('burst', t.name, 'CPU s per pod, start and teardown', percentile(cpu, 50));
    note('burst', t.name, 'start errors', runs.reduce((n, r) => n + r.startErrors, 0));
    note('burst', t.name, 'teardown errors', runs.reduce((n, r) => n + r.teardownErrors, 0));
  }
}

/** Whatever pods a failed step left. */
async function removeAll(t: Target): Promise<void> {
  const { items } = await t.cri.runtime.call<{ items: Message[] }>('ListPodSandbox', {});
  for (const p of items) await teardown(t, { pod: String(p.id), container: '' }).catch(() => undefined);
}

async function inBatches<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += width) out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, k) => fn(i + k)))));
  return out;
}

type RelistSamples = Record<string, number[]>;

/** One relist round on one runtime, as kubelet's: the two lists, then a pod's and a container's status. */
async function relistRound(t: Target, m: Made, s: RelistSamples, withStats: boolean): Promise<void> {
  const call = t.cri.runtime.call.bind(t.cri.runtime);
  await timed(s['ListPodSandbox+ListContainers'], async () => {
    await call('ListPodSandbox', {});
    await call('ListContainers', {});
  });
  await timed(s.PodSandboxStatus, () => call('PodSandboxStatus', { pod_sandbox_id: m.pod }));
  await timed(s.ContainerStatus, () => call('ContainerStatus', { container_id: m.container }));
  // kubelet's image manager asks every few seconds; here every round, as cheap as a status call,
  // so that its p99 stands on as many calls as theirs (every fourth round left 125 with this
  // client and 250 with grpc-go: the third slowest of 250 made the p99, and a run's few slow
  // calls, which fall on every kind of call alike, missed it or not by chance).
  await timed(s.ListImages, () => t.cri.image.call('ListImages', {}));
  if (!withStats) return;
  await timed(s.ListContainerStats, () => call('ListContainerStats', {}));
  // kubelet's eviction manager asks for these every few seconds, not every relist.
  await timed(s.ImageFsInfo, () => t.cri.image.call('ImageFsInfo', {}));
}

/**
 * kubelet's relist and status calls at 100 pods on every runtime at once; memory then and after;
 * restart with them. The runtimes take turns round by round (each going first every other
 * round), so that whatever else the machine does in those minutes (page cache, another core's
 * load, the client's own garbage collection) falls on all of them alike instead of on whichever
 * one's phase it happens in.
 */
async function relist(targets: Target[]): Promise<void> {
  await sleep(500);
  for (const t of targets) note('memory', t.name, 'daemon RSS idle MiB', daemonRss(t));
  const made = new Map<Target, Made[]>();
  for (const t of targets) made.set(t, await inBatches(RELIST_PODS, 10, (i) => runPodWithContainer(t, `relist-${i}`)));
  const keys = ['ListPodSandbox+ListContainers', 'PodSandboxStatus', 'ContainerStatus', 'ListContainerStats', 'ListImages', 'ImageFsInfo'];
  const fresh = (): RelistSamples => Object.fromEntries(keys.map((k) => [k, []]));
  const samples = new Map(targets.map((t) => [t, fresh()]));
  const warm = new Map(targets.map((t) => [t, fresh()]));
  // Warm-up rounds, not counted, on each runtime: kubelet relists every second for as long as the
  // node runs (3600 times an hour), so the steady state counts. The first thousand or so calls of
  // a path are still being compiled, in the client and in a JavaScript server alike: a
  // PodSandboxStatus loop at one pod takes 0.57-0.59 ms after 300 calls, 0.33-0.38 after 1500.
  for (let r = -RELIST_WARMUP; r < RELIST_ROUNDS; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      const list = made.get(t)!;
      const m = list[(r + RELIST_WARMUP) % list.length]!;
      // Stats every 4th counted round; in the warm-up only now and then, as they take long.
      await relistRound(t, m, (r < 0 ? warm : samples).get(t)!, r % (r < 0 ? 40 : 4) === 0);
    }
  }
  for (const t of targets) {
    for (const [k, v] of Object.entries(samples.get(t)!)) {
      note(RELIST_JS, t.name, `${k} p50 ms`, percentile(v, 50));
      note(RELIST_JS, t.name, `${k} p99 ms`, percentile(v, 99));
    }
    const helpers = t.helpers.rss();
    note('memory', t.name, `daemon RSS at ${RELIST_PODS} pods MiB`, daemonRss(t));
    note('memory', t.name, `helpers RSS at ${RELIST_PODS} pods MiB`, helpers.total);
    note('memory', t.name, 'helper RSS per pod MiB', helpers.total / Math.max(1, helpers.count));
    note('memory', t.name, `daemon+helpers RSS at ${RELIST_PODS} pods MiB`, daemonRss(t) + helpers.total);
  }
  if (goClientBuilt()) {
    process.stderr.write('[bench] relist with the grpc-go client\n');
    // As long a warm-up as the grpc-js relist's: the server code that client made hot meets a
    // client that sends other headers and frames (grpc-go's, kubelet's), and a JavaScript server
    // gives up some of that code and compiles it again: after 100 rounds it was still doing so,
    // on threads that took the client's CPU for milliseconds at a time.
    const go = await goClientRelist(targets.map((t) => ({ name: t.name, socket: t.socket, pods: made.get(t)! })), GO_RELIST_ROUNDS, GO_STATS_EVERY, RELIST_WARMUP);
    for (const t of targets) {
      for (const [k, v] of Object.entries(go[t.name] ?? {})) {
        note(RELIST_GO, t.name, `${k} p50 ms`, percentile(v, 50));
        note(RELIST_GO, t.name, `${k} p99 ms`, percentile(v, 99));
      }
    }
  } else {
    process.stderr.write('[bench] no grpc-go client (build/bench/cri-go-client): relist with grpc-js only\n');
  }
  for (const t of targets) {
    if (!t.restart) continue;
    const t0 = Date.now();
    await t.restart();
    note('restart', t.name, `start-up with ${RELIST_PODS} pods s`, (Date.now() - t0) / 1000);
  }
  for (const t of targets) {
    const list = made.get(t)!;
    await inBatches(list.length, 10, (i) => teardown(t, list[i]!));
  }
  await sleep(2000);
  for (const t of targets) {
    note('memory', t.name, `daemon RSS after ${RELIST_PODS}-pod cycle MiB`, daemonRss(t));
    note('memory', t.name, 'after/idle RSS', daemonRss(t) / results['memory | daemon RSS idle MiB']![t.name]!);
  }
}

/** execve calls (by program) a lifecycle makes, counted with strace following every child. */
async function forks(t: Target): Promise<void> {
  const out = join(t.logs, 'strace.out');
  const tracer = spawn('strace', ['-f', '-qq', '-e', 'trace=execve', '-e', 'signal=none', '-o', out, ...t.pids().flatMap((p) => ['-p', String(p)])], { stdio: 'ignore' });
  await sleep(1000);
  const n = 3;
  for (let i = 0; i < n; i++) {
    const m = await runPodWithContainer(t, `forks-${i}`);
    await t.cri.runtime.call('StopContainer', { container_id: m.container, timeout: 10 });
    await t.cri.runtime.call('RemoveContainer', { container_id: m.container });
    await teardown(t, m);
  }
  await sleep(500);
  tracer.kill('SIGINT');
  await new Promise((ok) => tracer.once('exit', ok));
  const counts: Record<string, number> = {};
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const prog = line.match(/execve\("([^"]+)"/)?.[1];
    if (prog && !line.includes('= -1')) counts[prog.split('/').pop()!] = (counts[prog.split('/').pop()!] ?? 0) + 1;
  }
  let total = 0;
  for (const [prog, c] of Object.entries(counts)) {
    note('execs per pod lifecycle', t.name, prog, c / n);
    total += c;
  }
  note('execs per pod lifecycle', t.name, 'total', total / n);
}

function print(): void {
  const names = [...new Set(Object.values(results).flatMap((r) => Object.keys(r)))];
  const [a, b] = names;
  const fmt = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
  console.log(`\nside by side: ${names.join(' vs ')}; ${SEQ} sequential lifecycles, ${PODS} pods at once, relist at ${RELIST_PODS} pods; OCI runtime ${HANDLER || 'runc (default)'}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  console.log(`${'figure'.padEnd(62)}${(a ?? '').padStart(11)}${(b ?? '').padStart(11)}${'ratio'.padStart(8)}`);
  for (const [key, r] of Object.entries(results)) {
    const va = a ? r[a] : undefined;
    const vb = b ? r[b] : undefined;
    const ratio = va !== undefined && vb ? (va / vb).toFixed(2) : '-';
    console.log(`${key.padEnd(62)}${fmt(va).padStart(11)}${fmt(vb).padStart(11)}${ratio.padStart(8)}`);
  }
}

async function main(): Promise<void> {
  if (CPU_PROF) {
    mkdirSync(CPU_PROF, { recursive: true });
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import=${new URL('./cpu-profile.js', import.meta.url).href}`.trim();
    // The daemon leaves its working directory for /: the profile's directory is made absolute here.
    process.env.CRICKET_CPU_PROF_DIR = resolve(CPU_PROF);
  }
  if (VS && !VS_PID) throw new Error('--vs needs --vs-pid, the other daemon\'s pid, for its CPU and memory');
  // The daemon first: a start that fails then leaves no directory of the benchmark's behind.
  const d: TestDaemon = await startCricket();
  const work = mkdtempSync(`${TEST_PREFIX}bench-vs-`);
  delete process.env.NODE_OPTIONS;
  delete process.env.CRICKET_CPU_PROF_DIR;
  const targets: Target[] = [{
    name: 'cricket',
    socket: d.socket,
    cri: d.cri,
    pids: () => [d.pid(), d.servePid()],
    reaper: d.servePid() !== d.pid() ? d.servePid() : undefined,
    helpers: new HelperWatch(/^(conmon|cricket-monitor)$/, d.stateDir),
    cgroupParent: TEST_CGROUP_PARENT,
    logs: join(work, 'cricket'),
    restart: async () => {
      await d.kill();
      await d.restart();
    },
  }];
  let other: CriClients | undefined;
  if (VS) {
    other = criClients(VS, { deadlineMs: 120_000 });
    targets.push({
      name: VS_NAME,
      socket: VS,
      cri: other,
      pids: () => [VS_PID],
      reaper: VS_REAPER_PID || undefined,
      helpers: new HelperWatch(VS_HELPER_COMM, VS_HELPER ?? VS),
      cgroupParent: `${TEST_CGROUP_PARENT}-vs`,
      logs: join(work, 'other'),
    });
  }
  let ociRuntimeFloor: RuntimeFloor | undefined;
  try {
    for (const scenario of [lifecycle, 'lifecycle-go' as const, 'floor' as const, 'burst' as const, 'relist' as const, ...(FORKS ? [forks] : [])]) {
      if (scenario === 'lifecycle-go') {
        if (!goClientBuilt()) {
          process.stderr.write('[bench] no grpc-go client (build/bench/cri-go-client): lifecycles with grpc-js only\n');
          continue;
        }
        process.stderr.write(`[bench] lifecycles with the grpc-go client: ${targets.map((t) => t.name).join(', then ')}\n`);
        await goLifecycles(targets).catch(async (err: Error) => {
          process.stderr.write(`[bench] grpc-go lifecycles failed: ${err.message}\n`);
          for (const t of targets) await removeAll(t).catch(() => undefined);
        });
        continue;
      }
      if (scenario === 'floor') {
        process.stderr.write('[bench] the OCI runtime alone\n');
        ociRuntimeFloor = await ociFloor(targets[0]!, work, d.stateDir).catch((err: Error) => {
          process.stderr.write(`[bench] the OCI runtime's floor failed: ${err.message}\n`);
          return undefined;
        });
        continue;
      }
      if (scenario === 'burst') {
        await bursts(targets);
        continue;
      }
      if (scenario === 'relist') {
        process.stderr.write(`[bench] relist: ${targets.map((t) => t.name).join(' and ')}, round by round\n`);
        try {
          await relist(targets);
        } catch (err) {
          process.stderr.write(`[bench] relist failed: ${(err as Error).message}\n`);
          for (const t of targets) await removeAll(t).catch(() => undefined);
        }
        continue;
      }
      for (const t of targets) {
        process.stderr.write(`[bench] ${scenario.name}: ${t.name}\n`);
        try {
          await scenario(t);
        } catch (err) {
          process.stderr.write(`[bench] ${scenario.name} on ${t.name} failed: ${(err as Error).message}\n`);
          await removeAll(t).catch(() => undefined);
        }
      }
    }
  } finally {
    if (other) {
      await removeAll(targets[1]!).catch(() => undefined);
      other.close();
    }
    await d.stop();
    // The daemon leaves its bridge for the next start; the benchmark leaves nothing.
    spawnSync('ip', ['link', 'del', TEST_BRIDGE], { stdio: 'ignore' });
    for (const t of targets) removeCgroup(t.cgroupParent);
    rmSync(work, { recursive: true, force: true });
  }
  process.stderr.write('[bench] client floor\n');
  const floor = await clientFloor();
  const verdicts = VS ? judgeRun() : undefined;
  if (JSON_OUT) console.log(JSON.stringify({ loadavg: readFileSync('/proc/loadavg', 'utf8').trim(), results, clientFloor: floor, ociRuntimeFloor, targets: verdicts }, null, 2));
  else {
    print();
    if (ociRuntimeFloor) printRuntimeFloor(ociRuntimeFloor);
    printFloor(floor);
    if (verdicts) printTargets(verdicts, floor);
  }
}

interface RunVerdicts {
  /** The client whose calls the List and Status targets read. */
  relistClient: 'grpc-go' | 'grpc-js';
  /** The client whose calls the lifecycle's latency targets read. */
  lifecycleClient: 'grpc-go' | 'grpc-js';
  verdicts: Verdict[];
  /** Where grpc-go's calls are counted, the grpc-js client's against the same limits, beside them. */
  grpcJs?: Verdict[];
}

/**
 * cricket's targets in this run. The calls are judged as grpc-go makes them, the library of
 * kubelet and crictl, where it ran: the grpc-js client spends more of a call in itself than a
 * status call costs cricket (its floor, printed with the figures), and a share of every lifecycle
 * call alike for both runtimes, so its ratios say more about the client than about either
 * runtime; they are printed beside, not counted. The CPU per lifecycle is the grpc-js
 * lifecycle's, which runs one runtime at a time.
 */
function judgeRun(): RunVerdicts {
  const ran = (section: string) => Object.keys(results).some((key) => key.startsWith(`${section} |`));
  const relistSection = ran(RELIST_GO) ? RELIST_GO : RELIST_JS;
  const lifecycleSection = ran(LIFECYCLE_GO) ? LIFECYCLE_GO : LIFECYCLE_JS;
  const judge = (relist: string, lifecycle: string) =>
    judgeTargets(results, 'cricket', VS_NAME, performanceTargets({ pods: PODS, relistPods: RELIST_PODS, relistSection: relist, lifecycleSection: lifecycle }));
  const verdicts = judge(relistSection, lifecycleSection);
  const grpcJs = judge(RELIST_JS, LIFECYCLE_JS).filter((v, i) => v.figure !== verdicts[i]!.figure);
  return {
    relistClient: relistSection === RELIST_GO ? 'grpc-go' : 'grpc-js',
    lifecycleClient: lifecycleSection === LIFECYCLE_GO ? 'grpc-go' : 'grpc-js',
    verdicts,
    grpcJs: grpcJs.length ? grpcJs : undefined,
  };
}

function printTargets({ relistClient, lifecycleClient, verdicts, grpcJs }: RunVerdicts, floor: ClientFloor): void {
  const row = (v: Verdict, after = '') =>
    console.log(`${`${v.label}${after}`.padEnd(62)}${(v.value === undefined ? '-' : v.value.toFixed(3)).padStart(11)}${`<= ${v.limit.toFixed(1)}`.padStart(11)}${(v.holds ? 'holds' : 'misses').padStart(8)}`);
  console.log(`\ntargets: cricket / ${VS_NAME} in this run (List and Status calls as the ${relistClient} client makes them, the lifecycle's as the ${lifecycleClient} client does; the RSS after a cycle is cricket's own, against its RSS at start)`);
  console.log(`${'target'.padEnd(62)}${'value'.padStart(11)}${'limit'.padStart(11)}`);
  for (const v of verdicts) row(v);
  console.log(`${verdicts.filter((v) => v.holds).length} of ${verdicts.length} targets hold`);
  if (!grpcJs) return;
  const status = results[`${RELIST_JS} | PodSandboxStatus p50 ms`]?.[VS_NAME];
  const share = status ? `, ${(floor.http2.p50 / status).toFixed(2)} of ${VS_NAME}'s PodSandboxStatus p50 with this client` : '';
  console.log(`the same calls from the grpc-js client, not counted (its floor with no gRPC server behind it is ${floor.http2.p50.toFixed(3)} ms${share}):`);
  for (const v of grpcJs) row(v, ', grpc-js');
}

/** The floor's longest label is wider than the table's column. */
const FLOOR_LABEL = 66;

function printRuntimeFloor(floor: RuntimeFloor): void {
  console.log(`\nOCI runtime floor: runc create and the exec-fifo start of a bench container's own spec, with nothing around them (${floor.runs} runs each way)`);
  const figure = (section: string) => results[`${section} | Create+StartContainer p50 ms`]?.[VS_NAME];
  const other = VS ? (figure(LIFECYCLE_GO) ?? figure(LIFECYCLE_JS)) : undefined;
  const ways: [string, FloorFigures | undefined][] = [
    ['runc from its installed path', floor.installed],
    ['runc from a sealed copy', floor.sealed],
    ['runc, sealed copy, cgroup lock ready (as cricket)', floor.sealedLockReady],
  ];
  for (const [way, f] of ways) {
    if (!f) continue;
    console.log(`${`${way}: p50 / p99 ms`.padEnd(FLOOR_LABEL)}${f.p50.toFixed(2).padStart(11)}${f.p99.toFixed(2).padStart(11)}`);
    if (other) console.log(`${`  as a share of ${VS_NAME}'s Create+StartContainer p50`.padEnd(FLOOR_LABEL)}${(f.p50 / other).toFixed(2).padStart(11)}`);
  }
}

function printFloor(floor: ClientFloor): void {
  console.log('\nclient floor: this client, PodSandboxStatus to a server answering fixed bytes at once (no runtime answers faster)');
  const lines = (floors: ServerFloors, after: string) => {
    const servers = [['grpc-js server', floors.grpcJs], ["cricket's gRPC server and listener", floors.cricket], ['Node http2 server, no gRPC layer', floors.http2]] as const;
    for (const [server, f] of servers) console.log(`${`${server}${after} p50 / p99 ms`.padEnd(62)}${f.p50.toFixed(3).padStart(11)}${f.p99.toFixed(3).padStart(11)}`);
  };
  lines(floor, '');
  // The lifecycle's calls come one at a time, each after the client and the daemon were quiet.
  console.log(`each call after ${floor.afterIdle.gapMs} ms without any (${floor.afterIdle.rounds} calls each), as the lifecycle's calls come:`);
  lines(floor.afterIdle, ', after idle');
}

/** The pods' cgroup parent, once empty (cgroup v2, or each v1 hierarchy). */
function removeCgroup(name: string): void {
  const base = '/sys/fs/cgroup';
  const dirs = existsSync(join(base, 'cgroup.controllers')) ? [join(base, name)] : readdirSync(base).map((c) => join(base, c, name));
  for (const dir of dirs) {
    try {
      if (existsSync(dir)) rmdirSync(dir);
    } catch {
      // busy: a pod is still there, which the leftover check reports
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
