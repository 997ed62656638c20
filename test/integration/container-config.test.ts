// What a container runs and sees comes from the CRI request laid over the image's config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX, TEST_CGROUP_PARENT, useCricket } from '../harness/cricket.js';
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

test('an image named by its id, as kubelet does: the status shows its tag, the list the request, both the user\'s image', async () => {
  const { image } = await d.cri.image.call<{ image: { id: string; repo_tags: string[] } }>('ImageStatus', { image: { image: BUSYBOX } });
  assert.ok(image.repo_tags.includes(BUSYBOX));
  const pod = podConfig(d, 'by-id');
  const { id: podId } = await runPod(d, pod);
  const asked = { image: image.id, user_specified_image: 'busybox-as-written', runtime_handler: '' };
  const byId = await startContainer(d, podId, pod, containerConfig('by-id', ['sleep', '3600'], { image: asked }));
  const { status } = await d.cri.runtime.call<{ status: { image: Record<string, string>; image_id: string } }>('ContainerStatus', { container_id: byId });
  assert.equal(status.image.image, image.repo_tags[0], 'the pod status shows a name, not a digest');
  assert.equal(status.image.user_specified_image, 'busybox-as-written');
  assert.equal(status.image_id, image.id);
  type Listed = { containers: { id: string; image: Record<string, string>; image_ref: string; image_id: string }[] };
  const { containers } = await d.cri.runtime.call<Listed>('ListContainers', { filter: { id: byId } });
  assert.equal(containers[0]!.image.image, image.id, 'the relist gets the image as it was asked for');
  assert.equal(containers[0]!.image.user_specified_image, 'busybox-as-written');
  assert.equal(containers[0]!.image_ref, image.id, 'and the image by the id ListImages gives it');
  assert.equal(containers[0]!.image_id, image.id);

  // A short id too; a name stays as written, and without user_specified_image the request's image stands for it.
  const short = await startContainer(d, podId, pod, containerConfig('short-id', ['sleep', '3600'], { image: { image: image.id.slice('sha256:'.length, 'sha256:'.length + 12) } }));
  const named = await startContainer(d, podId, pod, containerConfig('named', ['sleep', '3600']));
  for (const [cid, shown, user] of [[short, image.repo_tags[0], image.id.slice(7, 19)], [named, BUSYBOX, BUSYBOX]] as const) {
    const { status: s } = await d.cri.runtime.call<{ status: { image: Record<string, string> } }>('ContainerStatus', { container_id: cid });
    assert.equal(s.image.image, shown);
    assert.equal(s.image.user_specified_image, user);
    const { containers: [listed] } = await d.cri.runtime.call<Listed>('ListContainers', { filter: { id: cid } });
    assert.equal(listed!.image.user_specified_image, '', 'the list hands back what came: nothing');
  }
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

test('a pod config without namespace options gets the CRI default: one PID namespace for the pod', async () => {
  // crictl's pod configs often carry no namespace options at all.
  const pod = podConfig(d, 'default-pid', { linux: { cgroup_parent: `/${TEST_CGROUP_PARENT}` } });
  const { id } = await runPod(d, pod);
  const { status } = await d.cri.runtime.call<{ status: { linux: { namespaces: { options: { network: string; pid: string; ipc: string } } } } }>('PodSandboxStatus', { pod_sandbox_id: id });
  assert.deepEqual(status.linux.namespaces.options, { network: 'POD', pid: 'POD', ipc: 'POD', target_id: '', userns_options: null });
  const c = await startContainer(d, id, pod, containerConfig('first', ['sh', '-c', 'cat /proc/1/cmdline; echo']));
  const out = logLines((await waitExited(d, c)).log_path);
  assert.equal(out[0]!.replace(/\0/g, ''), '/pause');
});

test('without a pod-wide PID namespace each container is its own PID 1', async () => {
  const { out } = await runToExit('own-pid', containerConfig('own', ['sh', '-c', 'echo $$']));
  assert.equal(out, '1');
});
