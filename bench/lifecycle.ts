// npm run bench: median latency of the pod lifecycle RPCs over N pods and the daemon's memory.
// Runs its own daemon on private directories, like the tests, and cleans up after itself.
import { spawnSync } from 'node:child_process';
import { startCricket, TEST_BRIDGE, type TestDaemon } from '../test/harness/cricket.js';
import { containerConfig, podConfig } from '../test/harness/pods.js';
import { median } from './percentiles.js';
import { rssMiB } from './proc-stats.js';

const PODS = Number(process.env.BENCH_PODS ?? 20);
/** `--runtime-handler NAME`: the RuntimeClass handler every pod runs under ('' is runc). */
const flag = process.argv.indexOf('--runtime-handler');
const HANDLER = flag >= 0 ? process.argv[flag + 1] ?? '' : '';

async function timed<T>(samples: number[], fn: () => Promise<T>): Promise<T> {
  const t = process.hrtime.bigint();
  const value = await fn();
  samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  return value;
}

async function main(): Promise<void> {
  const d: TestDaemon = await startCricket();
  const times: Record<string, number[]> = {
    RunPodSandbox: [], CreateContainer: [], StartContainer: [], StopPodSandbox: [], RemovePodSandbox: [],
  };
  const rss: Record<string, number> = {};
  try {
    const call = d.cri.runtime.call.bind(d.cri.runtime);
    // One warm-up pod so that first-call costs (page cache, JIT) are not counted.
    const warm = podConfig(d, 'warm-up');
    const { pod_sandbox_id: warmId } = await call<{ pod_sandbox_id: string }>('RunPodSandbox', { config: warm, runtime_handler: HANDLER });
    await call('RemovePodSandbox', { pod_sandbox_id: warmId });
    rss.idle = rssMiB(d.pid());
    const pods: string[] = [];
    for (let i = 0; i < PODS; i++) {
      const pod = podConfig(d, `bench-${i}`);
      const { pod_sandbox_id } = await timed(times.RunPodSandbox!, () => call<{ pod_sandbox_id: string }>('RunPodSandbox', { config: pod, runtime_handler: HANDLER }));
      const { container_id } = await timed(times.CreateContainer!, () =>
        call<{ container_id: string }>('CreateContainer', { pod_sandbox_id, config: containerConfig('sleeper', ['sleep', '3600']), sandbox_config: pod }),
      );
      await timed(times.StartContainer!, () => call('StartContainer', { container_id }));
      pods.push(pod_sandbox_id);
    }
    rss.withPods = rssMiB(d.pid());
    for (const id of pods) {
      await timed(times.StopPodSandbox!, () => call('StopPodSandbox', { pod_sandbox_id: id }));
      await timed(times.RemovePodSandbox!, () => call('RemovePodSandbox', { pod_sandbox_id: id }));
    }
    rss.after = rssMiB(d.pid());
  } finally {
    await d.stop();
    // The daemon leaves its bridge for its next start; the benchmark leaves nothing.
    spawnSync('ip', ['link', 'del', TEST_BRIDGE], { stdio: 'ignore' });
  }
  console.log(`cricket lifecycle benchmark: ${PODS} pods, busybox image present, one container each, runtime handler "${HANDLER || 'runc'}"`);
  console.log('rpc                 median ms   min ms   max ms');
  for (const [rpc, samples] of Object.entries(times)) {
    console.log(`${rpc.padEnd(20)}${median(samples).toFixed(1).padStart(9)}${Math.min(...samples).toFixed(1).padStart(9)}${Math.max(...samples).toFixed(1).padStart(9)}`);
  }
  console.log(`daemon RSS MiB: idle ${rss.idle!.toFixed(1)}, with ${PODS} pods ${rss.withPods!.toFixed(1)}, after removal ${rss.after!.toFixed(1)}`);
}

await main();
