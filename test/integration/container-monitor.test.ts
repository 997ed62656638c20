// cricket's own container monitor (native/cricket-monitor.c), through the CRI socket: what it
// leaves on the node is root's, it is not the OOM killer's first pick, a flood on stdin or an
// attach client that reads nothing does not stall the container's log, and a container's end is
// reported with 128 + the signal, its last output logged and its socket and FIFO gone; one the
// OOM killer ended is reported OOMKilled.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nativeTool } from '../../src/process/native-tools.js';
import { parseProcStat } from '../../src/process/proc-stat.js';
import { startCricket, waitFor, type TestDaemon } from '../harness/cricket.js';
import { containerConfig, logLines, podConfig, runPod, startContainer, waitExited } from '../harness/pods.js';
import { asNobody } from '../harness/processes.js';
import { spdySession } from '../client/streaming.js';
import type { Message } from '../client/cri.js';

let d: TestDaemon;
let pod: Message;
let podId: string;

before(async () => {
  d = await startCricket();
  pod = podConfig(d, 'monitored');
  podId = (await runPod(d, pod)).id;
});
after(async () => {
  await d.stop();
});

const bundleOf = (id: string) => join(d.stateDir, 'containers', id);
const logOf = (name: string) => join(pod.log_directory as string, `${name}/0.log`);
const monitorPid = (id: string) => Number(readFileSync(join(bundleOf(id), 'conmon.pid'), 'utf8'));

test('the monitor is cricket-monitor, its files are root\'s, and the OOM killer passes it over', async () => {
  const id = await startContainer(d, podId, pod, containerConfig('quiet', ['sleep', '3600'], { stdin: true }));
  const pid = monitorPid(id);
  const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))!;
  assert.equal(stat.comm, 'cricket-monitor');
  // -1000 where the host lets a root process lower its score; where not, what it inherited.
  const lowerable = spawnSync('sh', ['-c', 'echo -1000 > /proc/self/oom_score_adj']).status === 0;
  const inherited = readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
  assert.equal(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim(), lowerable ? '-1000' : inherited);
  // The container itself is not: the monitor sets the runtime's back before it runs.
  const containerPid = Number(readFileSync(join(bundleOf(id), 'pid'), 'utf8'));
  assert.notEqual(readFileSync(`/proc/${containerPid}/oom_score_adj`, 'utf8').trim(), '-1000');

  const attach = lstatSync(join(bundleOf(id), 'attach'));
  assert.ok(attach.isSocket());
  assert.equal(attach.mode & 0o777, 0o700);
  const ctl = lstatSync(join(bundleOf(id), 'ctl'));
  assert.ok(ctl.isFIFO());
  assert.equal(ctl.mode & 0o777, 0o600);
  assert.equal(lstatSync(logOf('quiet')).mode & 0o777, 0o640);
  // Another user of the node reaches neither the attach socket nor the control FIFO.
  const connect = asNobody([nativeTool('cricket-io'), 'attach', bundleOf(id)]);
  assert.notEqual(connect.status, 0, 'nobody attached to the container');
  assert.notEqual(asNobody(['sh', '-c', `echo "2 0 0" > ${join(bundleOf(id), 'ctl')}`]).status, 0, 'nobody wrote to the control FIFO');
  await d.cri.runtime.call('RemoveContainer', { container_id: id });
});

test('a container killed by a signal exits 128+N; its socket and FIFO go with the monitor; output left at the end is logged', async () => {
  const id = await startContainer(d, podId, pod, containerConfig('signalled', ['sh', '-c', 'echo last words; exec sleep 3600']));
  const pid = monitorPid(id);
  await waitFor('the first output', () => (existsSync(logOf('signalled')) && logLines(logOf('signalled')).includes('last words') ? true : undefined));
  await d.cri.runtime.call('StopContainer', { container_id: id, timeout: 0 });
  const s = await waitExited(d, id);
  assert.equal(s.exit_code, 137);
  assert.equal(readFileSync(join(d.stateDir, 'exits', id), 'utf8'), '137');
  await waitFor('the monitor to end', () => (existsSync(`/proc/${pid}`) ? undefined : true));
  assert.equal(existsSync(join(bundleOf(id), 'attach')), false);
  assert.equal(existsSync(join(bundleOf(id), 'ctl')), false);
  // A process that ends with output not yet read: all of it is in the log.
  const burst = await startContainer(d, podId, pod, containerConfig('burst', ['sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done; exit 3']));
  const ended = await waitExited(d, burst);
  assert.equal(ended.exit_code, 3);
  const lines = logLines(logOf('burst'));
  assert.equal(lines.length, 300);
  assert.equal(lines.at(-1), 'line-299');
  await d.cri.runtime.call('RemoveContainer', { container_id: id });
  await d.cri.runtime.call('RemoveContainer', { container_id: burst });
});

test('a flood on the stdin of a container that never reads it does not stall its log, nor grow the monitor', async () => {
  const id = await startContainer(d, podId, pod, containerConfig('deaf', ['sh', '-c', 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.1; done'], { stdin: true }));
  const { url } = await d.cri.runtime.call<{ url: string }>('Attach', { container_id: id, stdin: true, stdout: true, stderr: false, tty: false });
  const s = await spdySession(url, { stdin: true, stdout: true });
  // 4 MiB: far more than the stdin pipe holds.
  const chunk = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 64; i++) s.write(chunk);
  const ticksNow = () => logLines(logOf('deaf')).length;
  const before = ticksNow();
  await waitFor('ticks logged after the flood', () => (ticksNow() >= before + 10 ? true : undefined));
  const rssKiB = Number(readFileSync(`/proc/${monitorPid(id)}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]);
  assert.ok(rssKiB < 4096, `the monitor holds ${rssKiB} KiB`);
  s.close();
  await d.cri.runtime.call('StopContainer', { container_id: id, timeout: 0 });
  await d.cri.runtime.call('RemoveContainer', { container_id: id });
});

test('an attach client that reads nothing is let go, and the container\'s log goes on', async () => {
  // 3 MB of output, then a marker: more than the attach socket and the client's pipe hold.
  const id = await startContainer(d, podId, pod, containerConfig('chatty', ['sh', '-c',
    'sleep 1; i=0; while [ $i -lt 400 ]; do head -c 8000 /dev/zero | tr "\\0" x; echo; i=$((i+1)); done; echo end-marker; exec sleep 3600']));
  // A client that connects and never reads its output.
  const stuck = spawn(nativeTool('cricket-io'), ['attach', bundleOf(id)], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await waitFor('the end marker in the log', () => (existsSync(logOf('chatty')) && logLines(logOf('chatty')).includes('end-marker') ? true : undefined), 30_000);
    assert.equal(logLines(logOf('chatty')).length, 401);
  } finally {
    stuck.kill('SIGKILL');
  }
  await d.cri.runtime.call('StopContainer', { container_id: id, timeout: 0 });
  await d.cri.runtime.call('RemoveContainer', { container_id: id });
});

test('a container the OOM killer ends is reported OOMKilled; one that fails by itself, Error', async () => {
  // busybox tail keeps the last line of /dev/zero, which never ends: its memory grows to the limit.
  const limit = String(32 * 1024 * 1024);
  const id = await startContainer(d, podId, pod, containerConfig('greedy', ['tail', '/dev/zero'], {
    linux: { resources: { memory_limit_in_bytes: limit, memory_swap_limit_in_bytes: limit } },
  }));
  const s = await waitExited(d, id);
  assert.equal(s.exit_code, 137);
  assert.equal(s.reason, 'OOMKilled');
  const failing = await startContainer(d, podId, pod, containerConfig('failing', ['sh', '-c', 'exit 1']));
  const f = await waitExited(d, failing);
  assert.deepEqual([f.exit_code, f.reason], [1, 'Error']);
  await d.cri.runtime.call('RemoveContainer', { container_id: id });
  await d.cri.runtime.call('RemoveContainer', { container_id: failing });
});

test('the programs cricket runs get GOMAXPROCS=1; the container\'s processes get the spec\'s environment alone', async () => {
  const id = await startContainer(d, podId, pod, containerConfig('env-check', ['sleep', '3600'], { envs: [{ key: 'FROM_SPEC', value: Buffer.from('yes') }] }));
  const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  assert.ok(environ(monitorPid(id)).includes('GOMAXPROCS=1'), 'the monitor, and the runc it starts, have GOMAXPROCS=1');
  const containerPid = Number(readFileSync(join(bundleOf(id), 'pid'), 'utf8'));
  // runc's init becomes the container's command a moment after StartContainer has answered.
  await waitFor('the container\'s command to run', () => (readFileSync(`/proc/${containerPid}/comm`, 'utf8').trim() === 'sleep' ? true : undefined));
  const containerEnv = environ(containerPid);
  assert.ok(containerEnv.includes('FROM_SPEC=yes'));
  assert.equal(containerEnv.some((e) => e.startsWith('GOMAXPROCS=')), false);
  await d.cri.runtime.call('StopContainer', { container_id: id, timeout: 0 });
  await d.cri.runtime.call('RemoveContainer', { container_id: id });
});
