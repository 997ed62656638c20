// The CRI ImageService of a running daemon against a TLS registry with Basic auth: PullImage with
// kubelet's AuthConfig, a pulled image running in a pod, verbose ImageStatus, ImageFsInfo,
// RemoveImage by tag and digest while a container still uses the image, garbage collection once
// it is gone, the pinned pause image, and `cricket image pull` beside the daemon.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { CRICKET, startCricket, waitFor, type TestDaemon } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import { buildImage, busyboxLayer, layerBlob, libs, startRegistry, type BuiltImage, type TestRegistry } from '../harness/registry.js';
import type { Message } from '../client/cri.js';

let reg: TestRegistry;
let plain: TestRegistry;
let d: TestDaemon;
let app: BuiltImage;
let other: BuiltImage;
const AUTH = { username: 'kubelet', password: 'pull-secret' };

interface CriImage { id: string; repo_tags: string[]; repo_digests: string[]; size: string; pinned: boolean }

before(async () => {
  const { tar } = await libs();
  reg = await startRegistry({ auth: { htpasswd: { [AUTH.username]: AUTH.password } }, pushUser: AUTH });
  plain = await startRegistry({ tls: false });
  const marker = layerBlob(tar.tarArchive([{ path: 'marker', type: 'file', mode: 0o644, data: Buffer.from('pulled from a registry\n') }]));
  app = buildImage([busyboxLayer(), marker], { config: { Cmd: ['cat', '/marker'] } });
  other = buildImage([busyboxLayer(), layerBlob(tar.tarArchive([{ path: 'other', type: 'file', data: Buffer.from('x') }]))]);
  await reg.push('apps/app', app, 'v1');
  await reg.push('apps/other', other, 'v1');
  await plain.push('apps/cli', other, 'v1');
  // The daemon trusts the test's CA the way Node programs are told to.
  process.env.NODE_EXTRA_CA_CERTS = reg.ca.caCert;
  // Its log (a file of its own) must carry the info line of each pull, whatever the suite's level.
  process.env.CRICKET_LOG_LEVEL = 'info';
  d = await startCricket();
});

after(async () => {
  await d?.stop();
  await reg?.stop();
  await plain?.stop();
});

const images = () => d.cri.image.call<{ images: CriImage[] }>('ListImages', {}).then((r) => r.images);
const layerDir = (chainHex: string) => join(d.root, 'images', 'layers', chainHex);

test('PullImage needs the credentials kubelet passes; returns the image id', async () => {
  const image = { image: `${reg.host}/apps/app:v1` };
  await assert.rejects(d.cri.image.call('PullImage', { image }), (err: { code: number; details: string }) => {
    assert.equal(err.code, status.FAILED_PRECONDITION);
    assert.match(err.details, /unauthorized/);
    return true;
  });
  await assert.rejects(d.cri.image.call('PullImage', {}), { code: status.INVALID_ARGUMENT });
  const r = await d.cri.image.call<{ image_ref: string }>('PullImage', { image, auth: AUTH, sandbox_config: {} }, { deadlineMs: 60_000 });
  assert.equal(r.image_ref, app.configDigest);
  const listed = (await images()).find((i) => i.id === app.configDigest);
  assert.deepEqual(listed?.repo_tags, [`${reg.host}/apps/app:v1`]);
  assert.deepEqual(listed?.repo_digests, [`${reg.host}/apps/app@${app.manifestDigest}`]);
  const filtered = await d.cri.image.call<{ images: CriImage[] }>('ListImages', { filter: { image: { image: `${reg.host}/apps/app:v1` } } });
  assert.deepEqual(filtered.images.map((i) => i.id), [app.configDigest]);
  // The same by digest, with the auth as a docker config "auth" string.
  const auth = { auth: Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64'), server_address: reg.host };
  const o = await d.cri.image.call<{ image_ref: string }>('PullImage', { image: { image: `${reg.host}/apps/other@${other.manifestDigest}` }, auth }, { deadlineMs: 60_000 });
  assert.equal(o.image_ref, other.configDigest);
  // The daemon logs each pull with its size and duration (written asynchronously).
  const line = await waitFor('the pull in the daemon log', () => readFileSync(d.logFile, 'utf8').split('\n').find((l) => l.includes('"msg":"image pulled"') && l.includes('apps/app:v1')));
  const logged = JSON.parse(line) as { id: string; size: number; ms: number; fetchedBytes: number };
  assert.equal(logged.id, app.configDigest);
  assert.ok(logged.size > 0 && logged.ms > 0 && logged.fetchedBytes > 0);
});

test('ImageStatus verbose gives the config; ImageFsInfo the store usage', async () => {
  const { image, info } = await d.cri.image.call<{ image: CriImage; info: Record<string, string> }>('ImageStatus', { image: { image: `${reg.host}/apps/app:v1` }, verbose: true });
  assert.equal(image.id, app.configDigest);
  const parsed = JSON.parse(info.info!) as { imageSpec: { config: { Cmd: string[] } }; size: number; pinned: boolean; chainID: string };
  assert.deepEqual(parsed.imageSpec.config.Cmd, ['cat', '/marker']);
  assert.equal(parsed.size, Number(image.size));
  assert.equal(parsed.pinned, false);
  const plainStatus = await d.cri.image.call<{ info: Record<string, string> }>('ImageStatus', { image: { image: app.configDigest } });
  assert.deepEqual(plainStatus.info, {});
  const fs = await d.cri.image.call<{ image_filesystems: Array<{ fs_id: { mountpoint: string }; used_bytes: { value: string }; inodes_used: { value: string }; timestamp: string }> }>('ImageFsInfo', {});
  const [usage] = fs.image_filesystems;
  assert.equal(usage?.fs_id.mountpoint, join(d.root, 'images'));
  assert.ok(Number(usage!.used_bytes.value) > Number(image.size), 'layers of every image, blobs and index');
  assert.ok(Number(usage!.inodes_used.value) > 10);
  assert.ok(BigInt(usage!.timestamp) > 0n);
});

test('a pulled image runs in a pod, and keeps running after RemoveImage; its layers go once the container does', async () => {
  const pod = podConfig(d, 'pulled');
  const { id: podId } = await runPod(d, pod);
  const ref = `${reg.host}/apps/app:v1`;
  const cid = await startContainer(d, podId, pod, containerConfig('app', ['sh', '-c', 'cat /marker; exec sleep 600'], { image: { image: ref } }));
  const logPath = join(pod.log_directory as string, 'app/0.log');
  await waitFor('the marker in the log', () => (existsSync(logPath) && readFileSync(logPath, 'utf8').includes('pulled from a registry') ? true : undefined));
  const { status: cs } = await d.cri.runtime.call<{ status: { image_ref: string; image: { image: string } } }>('ContainerStatus', { container_id: cid });
  assert.ok(cs.image_ref.includes(app.manifestDigest) || cs.image_ref === app.configDigest);

  const record = JSON.parse(readFileSync(join(d.root, 'images', 'index.json'), 'utf8')) as { images: Array<{ id: string; layers: string[] }> };
  const appLayers = record.images.find((i) => i.id === app.configDigest)!.layers.map((c) => c.slice(7));
  const markerLayer = appLayers[1]!;
  await d.cri.image.call('RemoveImage', { image: { image: ref } });
  assert.ok(!(await images()).some((i) => i.id === app.configDigest), 'no longer listed');
  const gone = await d.cri.image.call<{ image: CriImage | null }>('ImageStatus', { image: { image: ref } });
  assert.equal(gone.image, null);
  // Removing twice is fine.
  await d.cri.image.call('RemoveImage', { image: { image: ref } });
  assert.ok(existsSync(join(layerDir(markerLayer), 'layer.json')), 'layer kept for the running container');
  assert.equal(d.runcState(cid)?.status, 'running');

  // A new container from the same (removed) image is refused; the running one goes on.
  await assert.rejects(d.cri.runtime.call('CreateContainer', { pod_sandbox_id: podId, config: containerConfig('again', ['true'], { image: { image: ref } }), sandbox_config: pod }), { code: status.NOT_FOUND });
  await d.cri.runtime.call('StopContainer', { container_id: cid, timeout: 0 });
  await d.cri.runtime.call('RemoveContainer', { container_id: cid });
  await waitFor('the removed image\'s layer to be collected', () => (existsSync(layerDir(markerLayer)) ? undefined : true), 10_000);
  assert.ok(existsSync(layerDir(appLayers[0]!)), 'the busybox layer other images share stays');
  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: podId });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test('RemoveImage by digest and by id; the pause image is pinned', async () => {
  await d.cri.image.call('RemoveImage', { image: { image: `${reg.host}/apps/other@${other.manifestDigest}` } });
  assert.ok(!(await images()).some((i) => i.id === other.configDigest));
  const pulled = await d.cri.image.call<{ image_ref: string }>('PullImage', { image: { image: `${reg.host}/apps/other:v1` }, auth: AUTH }, { deadlineMs: 60_000 });
  await d.cri.image.call('RemoveImage', { image: { image: pulled.image_ref } });
  assert.ok(!(await images()).some((i) => i.id === other.configDigest));
  const pause = (await images()).find((i) => i.pinned)!;
  assert.ok(pause.repo_tags.includes('cricket.local/pause:built-in'));
  await assert.rejects(d.cri.image.call('RemoveImage', { image: { image: pause.id } }), { code: status.FAILED_PRECONDITION });
  await d.cri.image.call('RemoveImage', { image: { image: 'cricket.local/never:pulled' } });
});

test('`cricket image pull` with the registries of a config file; the daemon sees the image at once', () => {
  const config = join(d.dir, 'pull-config.toml');
  writeFileSync(config, `[registries."${plain.host}"]\ninsecure = true\n`);
  const out = execFileSync(process.execPath, [CRICKET, 'image', 'pull', `${plain.host}/apps/cli:v1`, '--root', d.root, '--config', config], { encoding: 'utf8' });
  assert.match(out, /^pulled .*apps\/cli:v1 sha256:[0-9a-f]{64} \(2 layers: \d fetched, \d present;/);
  return d.cri.image.call<{ image: Message | null }>('ImageStatus', { image: { image: `${plain.host}/apps/cli:v1` } }).then(({ image }) => {
    assert.ok(image);
    const rm = execFileSync(process.execPath, [CRICKET, 'image', 'rm', `${plain.host}/apps/cli:v1`, '--root', d.root, '--config', config], { encoding: 'utf8' });
    assert.match(rm, /^removed /);
  });
});
