// runc 1.1 is started from a sealed copy the daemon made once, so its init does not copy the
// runc binary at every container start: the copy is a memfd nobody can change, reachable only
// through the daemon's fd table, and pods and containers run from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, readFileSync, readlinkSync, closeSync, writeSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { useCricket } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';

const d = useCricket();

function startFrom(handler: string): string {
  const line = readFileSync(d.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"msg":"runtime handler"'))
    .map((l) => JSON.parse(l) as { handler: string; startFrom: string })
    .reverse()
    .find((l) => l.handler === handler);
  assert.ok(line, `no runtime handler line for ${handler}`);
  return line.startFrom;
}

test('runc 1.1 runs from a sealed memfd copy in the daemon; the copy cannot be changed', async (t) => {
  if (!/^runc version 1\.[01]\./m.test(execFileSync('runc', ['--version'], { encoding: 'utf8' }))) {
    t.skip('this runc does not copy itself at init');
    return;
  }
  const path = startFrom('runc');
  assert.match(path, new RegExp(`^/proc/${d.pid()}/fd/\\d+$`));
  assert.match(readlinkSync(path), /^\/memfd:runtime/);
  assert.equal(statSync(path).mode & 0o777, 0o500);
  assert.equal(readFileSync(path).equals(readFileSync('/usr/sbin/runc')), true);
  const fd = openSync(path, 'r+');
  try {
    assert.throws(() => writeSync(fd, Buffer.from('x'), 0, 1, 0), (err: NodeJS.ErrnoException) => err.code === 'EPERM');
  } finally {
    closeSync(fd);
  }
  // Another user cannot even reach it.
  assert.throws(() => execFileSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--', 'cat', path], { stdio: 'pipe' }));

  const pod = podConfig(d, 'sealed-runtime');
  const { id } = await runPod(d, pod);
  const container = await startContainer(d, id, pod, containerConfig('app', ['sh', '-c', 'echo ran; sleep 60']));
  const { status } = await d.cri.runtime.call<{ status: { state: string } }>('ContainerStatus', { container_id: container });
  assert.equal(status.state, 'CONTAINER_RUNNING');
  const exec = await d.cri.runtime.call<{ stdout: Buffer; exit_code: number }>('ExecSync', { container_id: container, cmd: ['echo', 'exec ok'], timeout: 10 });
  assert.equal(exec.exit_code, 0);
  assert.equal(Buffer.from(exec.stdout).toString().trim(), 'exec ok');
  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
});
