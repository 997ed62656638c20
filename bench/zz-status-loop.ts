import { startCricket } from '../test/harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../test/harness/pods.js';
const d = await startCricket({ env: { CRICKET_LOG_LEVEL: 'warn', ...(process.env.PROF ? { NODE_OPTIONS: `--import=${new URL('./cpu-profile.js', import.meta.url).href}`, CRICKET_CPU_PROF_DIR: process.env.PROF } : {}) } });
try {
  const pod = podConfig(d, 'p1');
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('c1', ['sleep', '1000']));
  const call = (m: string, r: Record<string, unknown>) => d.cri.runtime.call(m, r);
  for (const [name, req] of [['PodSandboxStatus', { pod_sandbox_id: id }], ['ContainerStatus', { container_id: c }], ['Version', {}], ['ListContainers', {}]] as const) {
    for (let i = 0; i < 200; i++) await call(name, req);
    const t: number[] = [];
    for (let i = 0; i < 2000; i++) { const s = process.hrtime.bigint(); await call(name, req); t.push(Number(process.hrtime.bigint() - s) / 1e3); }
    t.sort((a, b) => a - b);
    console.log(name, 'p50', t[1000]!.toFixed(0), 'us');
  }
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
} finally {
  await d.stop();
}
