// What a container runs and sees comes from the CRI request laid over the image's config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_CGROUP_PARENT, useCricket } from '../harness/cricket.js';
import { containerConfig, containerStatus, podConfig, runPod, startContainer, waitExited, logLines } from '../harness/pods.js';

const d = useCricket();

async function runToExit(podName: string, config: Record<string, unknown>, pod = podConfig(d, podName)): Promise<{ out: string; exit: number }> {
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, config);
  const s = await waitExited(d, c);
  const out = logLines(s.log_path).join('\n');
  return { out, exit: s.exit_code };
}

test('env, working dir, args and the image user database', async () => {
  const { out, exit } = await runToExit('env', containerConfig('env', ['sh', '-c', 'echo "$GREETING $HOSTNAME"; pwd; id -u; id -g; echo "$@"', 'sh', 'one', 'two'], {
    // KeyValue.value is bytes on the wire (as kubelet sends it).
    envs: [{ key: 'GREETING', value: Buffer.from('hi') }],
    working_dir: '/var/www',
    linux: { security_context: { run_as_username: 'www' } },
  }));
  assert.equal(exit, 0);
  assert.deepEqual(out.split('\n'), ['hi env', '/var/www', '1000', '1000', 'one two']);
});

test('args alone replace the image Cmd; nothing at all runs the image default', async () => {
  const withArgs = await runToExit('args', { ...containerConfig('args', []), command: [], args: ['echo', 'from-args'] });
  assert.equal(withArgs.out, 'from-args');
  // The busybox image's Cmd is "sh": with stdin closed it exits 0 at once.
  const plain = await runToExit('plain', { ...containerConfig('plain', []), command: [] });
  assert.equal(plain.exit, 0);
});

test('read-only mounts are read-only; writable ones are shared with the host', async () => {
  const ro = join(d.dir, 'ro-src');
  const rw = join(d.dir, 'rw-src');
  mkdirSync(ro);
  mkdirSync(rw);
  writeFileSync(join(ro, 'file'), 'from host\n');
  const { out, exit } = await runToExit('mounts', containerConfig('mounts', ['sh', '-c',
    'cat /ro/file; (echo x > /ro/new) 2>/dev/null && echo ro-writable || echo ro-refused; echo written > /rw/out'], {
    mounts: [
      { container_path: '/ro', host_path: ro, readonly: true },
      { container_path: '/rw', host_path: rw },
    ],
  }));
  assert.equal(exit, 0);
  assert.deepEqual(out.split('\n'), ['from host', 'ro-refused']);
  assert.equal(readFileSync(join(rw, 'out'), 'utf8'), 'written\n');
});

test('a pod-wide PID namespace has pause as PID 1, seen by every container', async () => {
  const pod = podConfig(d, 'shared-pid', { linux: { cgroup_parent: `/${TEST_CGROUP_PARENT}`, security_context: { namespace_options: { pid: 'POD' } } } });
  const { id } = await runPod(d, pod);
  const a = await startContainer(d, id, pod, containerConfig('a', ['sleep', '3600']));
  const b = await startContainer(d, id, pod, containerConfig('b', ['sh', '-c', 'cat /proc/1/cmdline; echo; ps -o comm | grep -c sleep']));
  const s = await waitExited(d, b);
  const out = logLines(s.log_path);
  assert.equal(out[0]!.replace(/\0/g, ''), '/pause');
  assert.equal(out[1], '1', 'container b sees container a\'s sleep');
  assert.equal((await containerStatus(d, a)).state, 'CONTAINER_RUNNING');
});

test('without a pod-wide PID namespace each container is its own PID 1', async () => {
  const { out } = await runToExit('own-pid', containerConfig('own', ['sh', '-c', 'echo $$']));
  assert.equal(out, '1');
});
