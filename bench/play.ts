// npm run bench: what `cricket play` costs per pod over the CRI calls it makes. N pods (BENCH_PODS,
// default 20) run each way, alternately: the calls made directly over the socket, and play's own
// code called in this process (so node's start-up is not counted); then the CLI as a user runs
// it, start-up included. Runs its own daemon on private directories and cleans up.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startCricket, CRICKET, TEST_CGROUP_PARENT, BUSYBOX, type TestDaemon } from '../test/harness/cricket.js';
import { connectCri, type Cri } from '../src/cli/cri-client.js';
import { playCommand } from '../src/cli/play/command.js';
import {
  ContainerStatusRequest, CreateContainerRequest, ImageStatusRequest, ListPodSandboxRequest, PodSandboxStatusRequest,
  RemovePodSandboxRequest, RunPodSandboxRequest, StartContainerRequest, StopPodSandboxRequest,
  type CreateContainerResponse, type ListPodSandboxResponse, type RunPodSandboxResponse,
} from '../src/gen/runtime/v1/api.js';
import { median } from './percentiles.js';

const PODS = Number(process.env.BENCH_PODS ?? 20);
const CLI_PODS = Number(process.env.BENCH_CLI_PODS ?? Math.min(PODS, 5));

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

function manifest(name: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  containers:
    - {name: app, image: ${BUSYBOX}, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}
`;
}

/** The calls play makes for a one-container pod, in its order, with requests written by hand. */
async function direct(d: TestDaemon, name: string): Promise<string> {
  const cri: Cri = connectCri(d.socket);
  try {
    const labels = { 'io.kubernetes.pod.name': name, 'io.kubernetes.pod.namespace': 'default' };
    await cri.call<ListPodSandboxRequest, ListPodSandboxResponse>(cri.runtime, 'listPodSandbox', ListPodSandboxRequest.fromPartial({ filter: { labelSelector: labels } }));
    await cri.call(cri.image, 'imageStatus', ImageStatusRequest.fromPartial({ image: { image: BUSYBOX } }));
    const uid = randomUUID();
    const logDirectory = join(d.dir, 'direct-logs', uid);
    mkdirSync(logDirectory, { recursive: true });
    const config = {
      metadata: { name, namespace: 'default', uid, attempt: 0 },
      hostname: name,
      logDirectory,
      labels,
      linux: { cgroupParent: `/${TEST_CGROUP_PARENT}` },
    };
    const { podSandboxId } = await cri.call<RunPodSandboxRequest, RunPodSandboxResponse>(cri.runtime, 'runPodSandbox', RunPodSandboxRequest.fromPartial({ config }));
    await cri.call(cri.runtime, 'podSandboxStatus', PodSandboxStatusRequest.fromPartial({ podSandboxId }));
    const { containerId } = await cri.call<CreateContainerRequest, CreateContainerResponse>(cri.runtime, 'createContainer', CreateContainerRequest.fromPartial({
      podSandboxId,
      config: { metadata: { name: 'app', attempt: 0 }, image: { image: BUSYBOX }, command: ['sleep', '3600'], logPath: 'app/0.log' },
      sandboxConfig: config,
    }));
    await cri.call(cri.runtime, 'startContainer', StartContainerRequest.fromPartial({ containerId }));
    // play asks for the state twice: once as it starts the container, once for its summary.
    await cri.call(cri.runtime, 'containerStatus', ContainerStatusRequest.fromPartial({ containerId }));
    await cri.call(cri.runtime, 'containerStatus', ContainerStatusRequest.fromPartial({ containerId }));
    return podSandboxId;
  } finally {
    cri.close();
  }
}

/** play's command, in this process, with its report to stdout held back. */
async function inProcess(file: string, flags: Record<string, string>, socket: string): Promise<void> {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  let code: number;
  try {
    code = await playCommand([file], flags, socket);
  } finally {
    process.stdout.write = write;
  }
  if (code !== 0) throw new Error(`cricket play ${file} exited ${code}`);
}

async function removeAll(d: TestDaemon): Promise<void> {
  const cri = connectCri(d.socket);
  try {
    const { items } = await cri.call<ListPodSandboxRequest, ListPodSandboxResponse>(cri.runtime, 'listPodSandbox', ListPodSandboxRequest.fromPartial({}));
    for (const s of items) {
      await cri.call(cri.runtime, 'stopPodSandbox', StopPodSandboxRequest.fromPartial({ podSandboxId: s.id }));
      await cri.call(cri.runtime, 'removePodSandbox', RemovePodSandboxRequest.fromPartial({ podSandboxId: s.id }));
    }
  } finally {
    cri.close();
  }
}

async function main(): Promise<void> {
  const d = await startCricket();
  const times = { direct: [] as number[], play: [] as number[], cli: [] as number[] };
  // This process's CPU time: the daemon runs elsewhere, so it is the client's own work, which the
  // machine's load does not blur as it blurs wall time.
  const cpu = { direct: [] as number[], play: [] as number[] };
  const cpuMs = (start: NodeJS.CpuUsage) => {
    const u = process.cpuUsage(start);
    return (u.user + u.system) / 1000;
  };
  const flags = { 'pods-dir': join(d.dir, 'play-pods'), 'log-root': join(d.dir, 'play-logs'), 'cgroup-parent': `/${TEST_CGROUP_PARENT}` };
  const files = join(d.dir, 'manifests');
  mkdirSync(files);
  try {
    // One pod each way first, so that first-call costs (JIT, page cache, connections) are not counted.
    for (let i = -1; i < PODS; i++) {
      const file = join(files, `play-${i + 1}.yaml`);
      writeFileSync(file, manifest(`play-${i + 1}`));
      const measure = async (fn: () => Promise<unknown>) => {
        const t = process.hrtime.bigint();
        const c = process.cpuUsage();
        await fn();
        return { wall: ms(t), cpu: cpuMs(c) };
      };
      // Which goes first alternates, so that the daemon's work left over from the first of a
      // pair weighs on both ways alike.
      const runDirect = () => measure(() => direct(d, `direct-${i + 1}`));
      const runPlay = () => measure(() => inProcess(file, flags, d.socket));
      let a: { wall: number; cpu: number };
      let b: { wall: number; cpu: number };
      if (i % 2 === 0) {
        a = await runDirect();
        b = await runPlay();
      } else {
        b = await runPlay();
        a = await runDirect();
      }
      const [directMs, directCpu, playMs, playCpu] = [a.wall, a.cpu, b.wall, b.cpu];
      if (i >= 0) {
        times.direct.push(directMs);
        times.play.push(playMs);
        cpu.direct.push(directCpu);
        cpu.play.push(playCpu);
      }
      // Each pair starts from the same empty node.
      await removeAll(d);
    }
    for (let i = 0; i < CLI_PODS; i++) {
      const file = join(files, `cli-${i}.yaml`);
      writeFileSync(file, manifest(`cli-${i}`));
      const args = [CRICKET, 'play', '--socket', d.socket, '--config', '/dev/null', ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]), file];
      const t = process.hrtime.bigint();
      execFileSync(process.execPath, args, { stdio: 'ignore', timeout: 120_000 });
      times.cli.push(ms(t));
      await removeAll(d);
    }
  } finally {
    await d.stop();
  }
  const overhead = times.play.map((p, i) => p - times.direct[i]!);
  console.log(`cricket play benchmark: ${PODS} one-container pods (busybox present), each way in turn`);
  console.log(`${'path'.padEnd(42)} median ms   min ms   max ms`);
  const row = (label: string, s: number[]) =>
    console.log(`${label.padEnd(42)}${median(s).toFixed(1).padStart(9)}${Math.min(...s).toFixed(1).padStart(9)}${Math.max(...s).toFixed(1).padStart(9)}`);
  row('CRI calls direct over the socket', times.direct);
  row('play in-process', times.play);
  row('play over direct, per pod', overhead);
  row(`cricket play CLI (${CLI_PODS} runs, node start-up)`, times.cli);
  const cpuOverhead = cpu.play.map((p, i) => p - cpu.direct[i]!);
  row('client CPU, CRI calls direct', cpu.direct);
  row('client CPU, play in-process', cpu.play);
  row('client CPU, play over direct', cpuOverhead);
  console.log(`play adds ${median(overhead).toFixed(1)} ms wall, ${median(cpuOverhead).toFixed(1)} ms client CPU per pod over the raw CRI calls (medians; limit 10 ms)`);
}

await main();
