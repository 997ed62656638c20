// Image volumes (Mount.image, Kubernetes 1.33+): a pulled image mounted read-only into a
// container, whole or by a sub path; kept from garbage collection while mounted; unmounted when
// the container exits, is removed, or is found orphaned after a crash; escapes are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Message } from '../client/cri.js';
import { useCricket, waitFor } from '../harness/cricket.js';
import { importTestImage } from '../harness/images.js';
import { containerConfig, logLines, podConfig, runPod, startContainer, waitExited } from '../harness/pods.js';

const d = useCricket();
const DATA = 'cricket.local/volume-data:1';

let imported: Promise<number> | undefined;
const dataImage = () =>
  (imported ??= importTestImage(d, DATA, [
    { path: 'data/', type: 'dir' },
    { path: 'data/hello.txt', data: Buffer.from('hello from the image\n') },
    { path: 'data/sub/', type: 'dir' },
    { path: 'data/sub/inner.txt', data: Buffer.from('inner file\n') },
    { path: 'data/link-in', type: 'symlink', linkname: 'sub' },
    { path: 'link-out', type: 'symlink', linkname: '/etc' },
    { path: 'rel-up', type: 'symlink', linkname: '../../../../../../../../etc' },
  ], { upper: [{ path: 'data/', type: 'dir' }, { path: 'data/top.txt', data: Buffer.from('from the upper layer\n') }] }));

/** Mount points under this daemon's container state directories. */
const volumeMounts = (containerId?: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(`${d.stateDir}/containers/${containerId ?? ''}`) && l.includes('/image-volumes/'));

const imageMount = (containerPath: string, subPath = ''): Message => ({ container_path: containerPath, image: { image: DATA }, image_sub_path: subPath });

test('an image is mounted read-only, whole and by sub path, and unmounted when the container exits', async () => {
  await dataImage();
  const pod = podConfig(d, 'imgvol');
  const { id } = await runPod(d, pod);
  const script = 'cat /vol/data/hello.txt /vol/data/top.txt /sub/inner.txt /file; if touch /vol/data/new 2>/dev/null; then echo WRITABLE; else echo READONLY; fi; ls /linked; sleep 2';
  const c = await startContainer(d, id, pod, containerConfig('reader', ['sh', '-c', script], {
    mounts: [imageMount('/vol'), imageMount('/sub', 'data/sub'), imageMount('/file', 'data/hello.txt'), imageMount('/linked', 'data/link-in')],
  }));
  assert.equal(volumeMounts(c).length, 4, 'four image volumes mounted on the host');
  const { status } = await d.cri.runtime.call<{ status: { mounts: Message[] } }>('ContainerStatus', { container_id: c });
  const sub = status.mounts.find((m) => m.container_path === '/sub')!;
  assert.equal((sub.image as Message).image, DATA);
  assert.equal(sub.image_sub_path, 'data/sub');
  assert.equal(sub.readonly, true);

  await waitExited(d, c);
  const lines = logLines(join(pod.log_directory as string, 'reader/0.log'));
  assert.deepEqual(lines, ['hello from the image', 'from the upper layer', 'inner file', 'hello from the image', 'READONLY', 'inner.txt']);
  await waitFor('the image volumes to be unmounted after the exit', () => (volumeMounts(c).length === 0 ? true : undefined));
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('sub paths that leave the image, and unknown images, are refused with nothing left mounted', async () => {
  await dataImage();
  const pod = podConfig(d, 'imgvol-bad');
  const { id } = await runPod(d, pod);
  const create = (name: string, mount: Message) =>
    d.cri.runtime.call('CreateContainer', { pod_sandbox_id: id, config: containerConfig(name, ['true'], { mounts: [mount] }), sandbox_config: pod });
  for (const [i, subPath] of ['../etc', 'data/../../etc', '/data', 'link-out', 'rel-up', 'link-out/passwd', 'data/missing'].entries()) {
    await assert.rejects(create(`bad${i}`, imageMount('/vol', subPath)), { code: grpc.status.INVALID_ARGUMENT }, subPath);
  }
  await assert.rejects(create('unknown', { container_path: '/vol', image: { image: 'cricket.local/not-pulled:1' } }), { code: grpc.status.NOT_FOUND });
  assert.deepEqual(volumeMounts(), []);
  const { containers } = await d.cri.runtime.call<{ containers: Message[] }>('ListContainers', { filter: { pod_sandbox_id: id } });
  assert.equal(containers.length, 0);
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('a mounted image outlives RemoveImage; its layers go once no container mounts it', async () => {
  await importTestImage(d, 'cricket.local/volume-gc:1', [{ path: 'gc/', type: 'dir' }, { path: 'gc/mark', data: Buffer.from('still here\n') }]);
  const index = () => JSON.parse(readFileSync(join(d.root, 'images', 'index.json'), 'utf8')) as { images: Array<{ id: string; repoTags: string[]; layers: string[] }> };
  const image = index().images.find((i) => i.repoTags.includes('cricket.local/volume-gc:1'))!;
  const layerDir = join(d.root, 'images', 'layers', image.layers[0]!.slice(7));
  const pod = podConfig(d, 'imgvol-gc');
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('holder', ['sleep', '600'], { mounts: [{ container_path: '/gc', image: { image: image.id } }] }));
  await d.cri.image.call('RemoveImage', { image: { image: 'cricket.local/volume-gc:1' } });
  // Another container's removal runs the collector: the mounted image's layer must stay.
  const other = await startContainer(d, id, pod, containerConfig('other', ['true']));
  await waitExited(d, other);
  await d.cri.runtime.call('RemoveContainer', { container_id: other });
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(existsSync(layerDir), 'layer kept while mounted');
  const { stdout } = await d.cri.runtime.call<{ stdout: Buffer }>('ExecSync', { container_id: c, cmd: ['cat', '/gc/gc/mark'], timeout: 10 });
  assert.equal(Buffer.from(stdout).toString(), 'still here\n');
  await d.cri.runtime.call('StopContainer', { container_id: c, timeout: 0 });
  await d.cri.runtime.call('RemoveContainer', { container_id: c });
  await waitFor('the unmounted image\'s layer to be collected', () => (existsSync(layerDir) ? undefined : true), 10_000);
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('after a crash, recovery unmounts the image volumes of a container no record owns', async () => {
  await dataImage();
  const pod = podConfig(d, 'imgvol-crash');
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('orphan', ['sleep', '600'], { mounts: [imageMount('/vol')] }));
  assert.equal(volumeMounts(c).length, 1);
  // The daemon dies, and with it the record of the container (as if CreateContainer had been cut short).
  await d.kill('SIGKILL');
  rmSync(join(d.root, 'containers', `${c}.json`));
  await d.restart();
  assert.deepEqual(volumeMounts(c), []);
  assert.equal(d.runcState(c), undefined);
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
});
