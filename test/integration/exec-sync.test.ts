// ExecSync as kubelet's exec probes use it: output, exit code, timeout, output cap.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { status as grpcStatus } from '@grpc/grpc-js';
import { startCricket, type TestDaemon } from '../harness/cricket.js';
import { criClients } from '../client/cri.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';

let d: TestDaemon;
let container: string;

interface ExecSyncReply {
  stdout: Buffer;
  stderr: Buffer;
  exit_code: number;
}

before(async () => {
  d = await startCricket();
  const pod = podConfig(d, 'probe-target');
  const { id } = await runPod(d, pod);
  container = await startContainer(d, id, pod, containerConfig('app', ['sleep', '3600'], {
    envs: [{ key: 'GREETING', value: Buffer.from('hi from env') }],
    working_dir: '/tmp',
  }));
});
after(async () => {
  await d.stop();
});

function execSync(cmd: string[], timeout = 0, deadlineMs = 30_000): Promise<ExecSyncReply> {
  return d.cri.runtime.call<ExecSyncReply & Record<string, unknown>>('ExecSync', { container_id: container, cmd, timeout }, { deadlineMs });
}

test('ExecSync returns stdout, stderr and the exit code', async () => {
  const r = await execSync(['sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(String(r.stdout), 'out\n');
  assert.equal(String(r.stderr), 'err\n');
  assert.equal(r.exit_code, 3);
  const ok = await execSync(['true']);
  assert.equal(ok.exit_code, 0);
  assert.equal(ok.stdout.length, 0);
});

test('the process runs with the container\'s env, cwd, user and namespaces', async () => {
  const r = await execSync(['sh', '-c', 'echo "$GREETING"; pwd; id -u; hostname; readlink /proc/1/ns/pid; readlink /proc/self/ns/pid']);
  const [greeting, cwd, uid, hostname, initNs, selfNs] = String(r.stdout).trim().split('\n');
  assert.equal(greeting, 'hi from env');
  assert.equal(cwd, '/tmp');
  assert.equal(uid, '0');
  assert.equal(hostname, 'probe-target');
  assert.equal(selfNs, initNs, 'same PID namespace as the container');
  // And in the container's cgroup.
  const cg = await execSync(['cat', '/proc/self/cgroup']);
  const init = await execSync(['cat', '/proc/1/cgroup']);
  assert.equal(String(cg.stdout), String(init.stdout));
});

test('a timeout kills the process and fails with DEADLINE_EXCEEDED', async () => {
  const started = Date.now();
  await assert.rejects(execSync(['sh', '-c', 'echo $$ > /tmp/probe.pid; exec sleep 60'], 1), (err: { code: number; details: string }) => {
    assert.equal(err.code, grpcStatus.DEADLINE_EXCEEDED);
    assert.match(err.details, /timeout 1s exceeded/);
    return true;
  });
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1000 && elapsed < 5000, `took ${elapsed} ms`);
  // The process is gone.
  const r = await execSync(['sh', '-c', 'kill -0 $(cat /tmp/probe.pid) 2>/dev/null && echo alive || echo gone']);
  assert.equal(String(r.stdout), 'gone\n');
});

test('output is capped to fit kubelet\'s 16 MiB message limit, and the command still completes', async () => {
  // kubelet's CRI client takes messages of up to 16 MiB.
  const kubeletLike = criClients(d.socket, { channelOptions: { 'grpc.max_receive_message_length': 16 * 1024 * 1024 } });
  try {
    const call = (cmd: string[]) => kubeletLike.runtime.call<ExecSyncReply & Record<string, unknown>>('ExecSync', { container_id: container, cmd, timeout: 0 }, { deadlineMs: 60_000 });
    const r = await call(['sh', '-c', 'head -c 40000000 /dev/zero; echo done >&2']);
    assert.equal(r.stdout.length, 16 * 1024 * 1024 - 1024 - 5);
    assert.ok(r.stdout.every((b) => b === 0));
    assert.equal(String(r.stderr), 'done\n');
    assert.equal(r.exit_code, 0);
    // Both streams large: stderr keeps half of the reply.
    const both = await call(['sh', '-c', 'head -c 20000000 /dev/zero; head -c 20000000 /dev/zero >&2; exit 2']);
    assert.equal(both.stdout.length + both.stderr.length, 16 * 1024 * 1024 - 1024);
    assert.equal(both.stderr.length, 8 * 1024 * 1024 - 512);
    assert.equal(both.exit_code, 2);
  } finally {
    kubeletLike.close();
  }
});

test('ExecSync validates its request', async () => {
  await assert.rejects(d.cri.runtime.call('ExecSync', { container_id: '', cmd: ['true'] }), (err: { code: number }) => err.code === grpcStatus.INVALID_ARGUMENT);
  await assert.rejects(d.cri.runtime.call('ExecSync', { container_id: container, cmd: [] }), (err: { code: number }) => err.code === grpcStatus.INVALID_ARGUMENT);
  await assert.rejects(d.cri.runtime.call('ExecSync', { container_id: 'missing', cmd: ['true'] }), (err: { code: number }) => err.code === grpcStatus.NOT_FOUND);
  await assert.rejects(execSync(['/no/such/binary']), (err: { code: number; details: string }) => /no\/such\/binary/.test(err.details));
});

test('ExecSync latency (median of 20)', async (t) => {
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const start = process.hrtime.bigint();
    await execSync(['true']);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times[10]!;
  t.diagnostic(`ExecSync median ${median.toFixed(1)} ms, min ${times[0]!.toFixed(1)} ms, max ${times[19]!.toFixed(1)} ms`);
  assert.ok(median < 1000, `median ${median} ms`);
});
