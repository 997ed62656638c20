// The product's "two-containers" example: a writer and a web server sharing one emptyDir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_SUBNET, useCricket } from '../harness/cricket.js';
import { containerConfig, httpGetEventually, namespacesOf, podConfig, runPod, startContainer, waitExited } from '../harness/pods.js';

const d = useCricket();

test('two containers share an emptyDir, one IP and the pod namespaces', async () => {
  const pod = podConfig(d, 'two-containers');
  const { id: podId, ip } = await runPod(d, pod);
  assert.match(ip, new RegExp(`^${TEST_SUBNET.split('.').slice(0, 3).join('\\.')}\\.\\d+$`));
  const emptyDir = join(d.dir, 'pods', podId, 'volumes', 'shared-data');
  mkdirSync(emptyDir, { recursive: true });

  const web = await startContainer(d, podId, pod, containerConfig('nginx', ['httpd', '-f', '-p', '80', '-h', '/usr/share/nginx/html'], {
    mounts: [{ container_path: '/usr/share/nginx/html', host_path: emptyDir }],
  }));
  const writer = await startContainer(d, podId, pod, containerConfig('debian', ['sh', '-c',
    'echo Hello from the debian container > /pod-data/index.html; ' +
    'mkdir -p /pod-data/.meta; for ns in net ipc uts; do readlink /proc/self/ns/$ns > /pod-data/.meta/$ns; done; ' +
    'hostname > /pod-data/.meta/hostname; ip -4 -o addr show eth0 > /pod-data/.meta/addr'], {
    mounts: [{ container_path: '/pod-data', host_path: emptyDir }],
  }));

  const writerStatus = await waitExited(d, writer);
  assert.equal(writerStatus.exit_code, 0);
  assert.equal(writerStatus.reason, 'Completed');

  const res = await httpGetEventually(ip, 80);
  assert.equal(res.status, 200);
  assert.equal(res.body, 'Hello from the debian container\n');

  // Every container is in the pause process's net, IPC and UTS namespaces.
  const pause = d.runcState(podId)!;
  const webState = d.runcState(web)!;
  const pauseNs = namespacesOf(pause.pid);
  const webNs = namespacesOf(webState.pid);
  for (const ns of ['net', 'ipc', 'uts'] as const) {
    assert.equal(webNs[ns], pauseNs[ns], `web container ${ns} namespace`);
    assert.equal(readFileSync(join(emptyDir, '.meta', ns), 'utf8').trim(), pauseNs[ns], `writer ${ns} namespace`);
  }
  assert.notEqual(webNs.mnt, pauseNs.mnt, 'each container has its own mount namespace');
  assert.equal(readFileSync(join(emptyDir, '.meta', 'hostname'), 'utf8').trim(), 'two-containers');
  assert.match(readFileSync(join(emptyDir, '.meta', 'addr'), 'utf8'), new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));

  // The CRI log of the web server exists in the kubelet layout and format.
  const logDir = (pod.log_directory as string);
  const writerLog = readFileSync(join(logDir, 'debian', '0.log'), 'utf8');
  assert.equal(writerLog, '', 'the writer printed nothing');
});

test('the container log is written in the CRI format', async () => {
  const pod = podConfig(d, 'logger');
  const { id: podId } = await runPod(d, pod);
  const c = await startContainer(d, podId, pod, containerConfig('talker', ['sh', '-c', 'echo out-line; echo err-line >&2; printf partial']));
  await waitExited(d, c);
  const log = readFileSync(join(pod.log_directory as string, 'talker', '0.log'), 'utf8').trimEnd().split('\n');
  const lines = log.map((l) => l.match(/^(\S+) (stdout|stderr) ([FP]) (.*)$/));
  assert.ok(lines.every(Boolean), `CRI log lines: ${log.join(' | ')}`);
  assert.ok(lines.some((m) => m![2] === 'stdout' && m![3] === 'F' && m![4] === 'out-line'));
  assert.ok(lines.some((m) => m![2] === 'stderr' && m![3] === 'F' && m![4] === 'err-line'));
  assert.ok(lines.some((m) => m![2] === 'stdout' && m![4] === 'partial'));
  for (const m of lines) assert.ok(!Number.isNaN(Date.parse(m![1]!)), `timestamp ${m![1]}`);
});
