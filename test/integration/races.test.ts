// kubelet's retries and overlapping calls: each pair ends in a consistent state. Steps are held
// open by a CNI plugin and a conmon wrapper that wait for a file, so the overlap is certain.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cricketCli, ipReservations, TEST_PREFIX, useCricket, waitFor } from '../harness/cricket.js';
import { holdingNetwork } from '../harness/cni-holding.js';
import { buildImage, busyboxLayer, layerBlob, libs, type BuiltImage } from '../harness/registry.js';
import { containerConfig, containerStatus, logLines, podConfig, waitExited } from '../harness/pods.js';
import type { Message } from '../client/cri.js';


// The conmon wrapper lives outside the daemon's directory, which only exists once it starts.
const holdDir = mkdtempSync(`${TEST_PREFIX}hold-`);
const conmonWrapper = join(holdDir, 'conmon');
writeFileSync(conmonWrapper, `#!/bin/sh
dir=$(dirname "$0")
if [ -e "$dir/hold-conmon" ]; then
  touch "$dir/held-conmon"
  while [ ! -e "$dir/release" ]; do sleep 0.05; done
fi
exec conmon "$@"
`);
chmodSync(conmonWrapper, 0o755);

const d = useCricket({
  ...holdingNetwork('cricket-test-races'),
  configToml: `conmon = "${conmonWrapper}"\n`,
});
after(() => rmSync(holdDir, { recursive: true, force: true }));

const call = <T extends Message = Message>(method: string, req: Message, deadlineMs?: number) =>
  d.cri.runtime.call<T>(method, req, deadlineMs ? { deadlineMs } : undefined);
const bin = () => join(d.dir, 'cni-bin');

/** Turns a hold on; returns a function that waits for it to be reached and one that lets go. */
function hold(dir: string, what: 'add' | 'del' | 'conmon') {
  for (const f of ['release', `held-${what}`]) if (existsSync(join(dir, f))) unlinkSync(join(dir, f));
  writeFileSync(join(dir, `hold-${what}`), '');
  return {
    reached: () => waitFor(`the ${what} step to be held`, () => (existsSync(join(dir, `held-${what}`)) ? true : undefined)),
    release: () => {
      unlinkSync(join(dir, `hold-${what}`));
      writeFileSync(join(dir, 'release'), '');
    },
  };
}

const podsNamed = async (name: string) =>
  (await call<{ items: Array<{ id: string; state: string; metadata: { name: string } }> }>('ListPodSandbox', {})).items.filter((p) => p.metadata.name === name);

test('an identical RunPodSandbox retried past its deadline joins the first call and gets its pod id', async () => {
  const pod = podConfig(d, 'retried');
  const h = hold(bin(), 'add');
  // kubelet's first call gives up at its deadline while the pod is still being made.
  const first = call('RunPodSandbox', { config: pod }, 1000).catch((err: { code: number }) => err);
  await h.reached();
  assert.equal((await first as { code: number }).code, status.DEADLINE_EXCEEDED);
  const retry = call<{ pod_sandbox_id: string }>('RunPodSandbox', { config: pod }, 60_000);
  // A different request for the same name is refused at once, also while the first is under way.
  await assert.rejects(call('RunPodSandbox', { config: { ...pod, hostname: 'other' } }), (err: { code: number; details: string }) => {
    assert.equal(err.code, status.ALREADY_EXISTS);
    assert.match(err.details, /different request/);
    return true;
  });
  h.release();
  const { pod_sandbox_id: id } = await retry;
  const listed = await podsNamed('retried');
  assert.deepEqual(listed.map((p) => [p.id, p.state]), [[id, 'SANDBOX_READY']]);
  // Once ready, the same request still answers with that pod.
  assert.equal((await call<{ pod_sandbox_id: string }>('RunPodSandbox', { config: pod })).pod_sandbox_id, id);
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('StopPodSandbox and RemovePodSandbox during RunPodSandbox wait for it, then undo all of it', async () => {
  const pod = podConfig(d, 'stopped-while-made');
  const h = hold(bin(), 'add');
  const run = call<{ pod_sandbox_id: string }>('RunPodSandbox', { config: pod }, 60_000);
  await h.reached();
  const [listed] = await podsNamed('stopped-while-made');
  assert.ok(listed, 'the pod is listed while it is made');
  assert.equal(listed.state, 'SANDBOX_NOTREADY');
  const stop = call('StopPodSandbox', { pod_sandbox_id: listed.id }, 60_000);
  const remove = call('RemovePodSandbox', { pod_sandbox_id: listed.id }, 60_000);
  h.release();
  assert.equal((await run).pod_sandbox_id, listed.id);
  await stop;
  await remove;
  assert.deepEqual(await podsNamed('stopped-while-made'), []);
  assert.deepEqual(ipReservations(join(d.root, 'cni')), [], 'the address went back');
  assert.deepEqual(readdirSync(join(d.stateDir, 'netns')), []);
});

test('CreateContainer and StartContainer during StopPodSandbox never leave a container running in the stopped pod', async () => {
  const pod = podConfig(d, 'create-during-stop');
  const { pod_sandbox_id: id } = await call<{ pod_sandbox_id: string }>('RunPodSandbox', { config: pod });
  const { container_id: early } = await call<{ container_id: string }>('CreateContainer', { pod_sandbox_id: id, config: containerConfig('early', ['sleep', '60']), sandbox_config: pod });
  const h = hold(bin(), 'del');
  const stop = call('StopPodSandbox', { pod_sandbox_id: id }, 60_000);
  await h.reached();
  const create = call('CreateContainer', { pod_sandbox_id: id, config: containerConfig('late', ['sleep', '60']), sandbox_config: pod }, 60_000).catch((err: { code: number }) => err);
  const start = call('StartContainer', { container_id: early }, 60_000).catch((err: { code: number }) => err);
  h.release();
  await stop;
  assert.equal(((await create) as { code: number }).code, status.FAILED_PRECONDITION);
  assert.equal(((await start) as { code: number }).code, status.FAILED_PRECONDITION);
  const { containers } = await call<{ containers: Array<{ id: string; state: string }> }>('ListContainers', { filter: { pod_sandbox_id: id } });
  assert.deepEqual(containers.map((c) => c.id), [early]);
  assert.notEqual(containers[0]!.state, 'CONTAINER_RUNNING');
  const { status: pod_status } = await call<{ status: { state: string; network: { ip: string } } }>('PodSandboxStatus', { pod_sandbox_id: id });
  assert.equal(pod_status.state, 'SANDBOX_NOTREADY');
  assert.equal(pod_status.network.ip, '', 'no address is reported once CNI released it');
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('a creation whose undo fails leaves the pod on record, unknown, until Stop and Remove finish it', async () => {
  const failAdd = join(bin(), 'fail-ADD');
  const failDel = join(bin(), 'fail-DEL');
  writeFileSync(failAdd, '');
  writeFileSync(failDel, '');
  const pod = podConfig(d, 'half-undone');
  try {
    try {
      await assert.rejects(call('RunPodSandbox', { config: pod }, 60_000), /failing on purpose/);
    } finally {
      unlinkSync(failAdd);
    }
    const [left] = await podsNamed('half-undone');
    assert.ok(left, 'the pod stays on record: its network could not be torn down');
    assert.equal(left.state, 'SANDBOX_NOTREADY');
    const { status: s } = await call<{ status: { network: { ip: string } } }>('PodSandboxStatus', { pod_sandbox_id: left.id });
    assert.equal(s.network.ip, '');
    // Its name stays taken until it is removed.
    await assert.rejects(call('RunPodSandbox', { config: pod }), { code: status.ALREADY_EXISTS });
    // Stop cannot finish either while DEL fails, and says why.
    await assert.rejects(call('StopPodSandbox', { pod_sandbox_id: left.id }), /failing on purpose/);
  } finally {
    if (existsSync(failDel)) unlinkSync(failDel);
  }
  const [left] = await podsNamed('half-undone');
  await call('StopPodSandbox', { pod_sandbox_id: left!.id });
  assert.deepEqual(ipReservations(join(d.root, 'cni')), [], 'Stop finished the undo');
  await call('RemovePodSandbox', { pod_sandbox_id: left!.id });
  const { pod_sandbox_id: again } = await call<{ pod_sandbox_id: string }>('RunPodSandbox', { config: pod });
  await call('StopPodSandbox', { pod_sandbox_id: again });
  await call('RemovePodSandbox', { pod_sandbox_id: again });
});

test('an identical CreateContainer retried past its deadline gets the container the first call made', async () => {
  const pod = podConfig(d, 'container-retried');
  const { pod_sandbox_id: id } = await call<{ pod_sandbox_id: string }>('RunPodSandbox', { config: pod });
  const config = containerConfig('retried', ['sleep', '60']);
  const h = hold(holdDir, 'conmon');
  const first = call('CreateContainer', { pod_sandbox_id: id, config, sandbox_config: pod }, 1000).catch((err: { code: number }) => err);
  await h.reached();
  assert.equal(((await first) as { code: number }).code, status.DEADLINE_EXCEEDED);
  const retry = call<{ container_id: string }>('CreateContainer', { pod_sandbox_id: id, config, sandbox_config: pod }, 60_000);
  h.release();
  const { container_id } = await retry;
  const { containers } = await call<{ containers: Array<{ id: string }> }>('ListContainers', { filter: { pod_sandbox_id: id } });
  assert.deepEqual(containers.map((c) => c.id), [container_id]);
  await call('StartContainer', { container_id });
  assert.equal((await containerStatus(d, container_id)).state, 'CONTAINER_RUNNING');
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
});

test('RemoveImage during CreateContainer keeps the layers the container is being made from', async () => {
  const { tar } = await libs();
  const marker = layerBlob(tar.tarArchive([{ path: 'marker', type: 'file', mode: 0o644, data: Buffer.from('still here\n') }]));
  const image = buildImage([busyboxLayer(), marker], { salt: 'races' });
  const layout = join(holdDir, 'layout');
  writeLayout(layout, image);
  const name = 'cricket.local/removable:1';
  cricketCli(['image', 'import', layout, '--name', name, '--root', d.root]);
  const layersBefore = readdirSync(join(d.root, 'images', 'layers')).filter((n) => /^[0-9a-f]{64}$/.test(n)).length;

  const pod = podConfig(d, 'image-removed');
  const { pod_sandbox_id: id } = await call<{ pod_sandbox_id: string }>('RunPodSandbox', { config: pod });
  const h = hold(holdDir, 'conmon');
  const create = call<{ container_id: string }>('CreateContainer', { pod_sandbox_id: id, config: { ...containerConfig('reader', ['cat', '/marker']), image: { image: name } }, sandbox_config: pod }, 60_000);
  await h.reached();
  await d.cri.image.call('RemoveImage', { image: { image: name } });
  const { images } = await d.cri.image.call<{ images: Array<{ repo_tags: string[] }> }>('ListImages', {});
  assert.ok(!images.some((i) => i.repo_tags.includes(name)), 'the image is gone from the list');
  h.release();
  const { container_id } = await create;
  await call('StartContainer', { container_id });
  const s = await waitExited(d, container_id);
  assert.equal(s.exit_code, 0);
  assert.deepEqual(logLines(s.log_path), ['still here']);
  await call('StopPodSandbox', { pod_sandbox_id: id });
  await call('RemovePodSandbox', { pod_sandbox_id: id });
  // With the container gone, its layer goes too.
  await waitFor('the removed image\'s layer to be collected', () =>
    readdirSync(join(d.root, 'images', 'layers')).filter((n) => /^[0-9a-f]{64}$/.test(n)).length === layersBefore - 1 ? true : undefined);
});

/** An OCI image layout directory of a built image. */
function writeLayout(dir: string, image: BuiltImage): void {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (digest: string, data: Buffer) => writeFileSync(join(blobs, digest.slice('sha256:'.length)), data);
  put(image.configDigest, image.configBytes);
  put(image.manifestDigest, image.manifestBytes);
  for (const l of image.layers) put(l.digest, l.blob);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: image.mediaType, digest: image.manifestDigest, size: image.manifestBytes.length }],
  }));
}
