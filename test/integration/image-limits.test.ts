// Pulls through the daemon from a fake registry of hostile images, with the unpack limits lowered
// in the daemon's config ([images]): a blob longer than its manifest says is cut off while it
// streams; a gzip bomb, a layer of too many entries and an image too big in sum fail the pull
// with an error naming the limit, and leave nothing behind (no temp dirs, blobs or layers).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { startCricket, type TestDaemon } from '../harness/cricket.js';
import {
  buildImage, busyboxLayer, layerBlob, libs, sha256, startFakeRegistry, MT,
  type BuiltImage, type FakeRegistry, type TarSpec,
} from '../harness/registry.js';

const MiB = 1024 * 1024;
const LIMITS = { layerBytes: 8 * MiB, layerFiles: 1000, imageBytes: 12 * MiB, imageFiles: 5000 };

let d: TestDaemon;
let fake: FakeRegistry;
let oversize: BuiltImage;
const images: Record<string, BuiltImage> = {};

/** The same image with the manifest claiming a smaller size for its top layer. */
function lyingAboutSize(img: BuiltImage, size: number): BuiltImage {
  const doc = JSON.parse(img.manifestBytes.toString('utf8')) as { layers: Array<{ size: number }> };
  doc.layers[doc.layers.length - 1]!.size = size;
  const manifestBytes = Buffer.from(JSON.stringify(doc));
  return { ...img, manifestBytes, manifestDigest: sha256(manifestBytes) };
}

before(async () => {
  const { tar } = await libs();
  const base = busyboxLayer();
  const file = (path: string, data: Buffer): TarSpec => ({ path, type: 'file', mode: 0o644, data });
  // 48 MiB that do not compress, sent as a plain tar; the manifest says 1 MiB.
  oversize = lyingAboutSize(buildImage([base, layerBlob(tar.tarArchive([file('big', randomBytes(48 * MiB))]), 'none')]), MiB);
  // 64 MiB of zeros: some 64 KiB of gzip.
  images.bomb = buildImage([base, layerBlob(tar.tarArchive([file('zeros', Buffer.alloc(64 * MiB))]))]);
  // A sound small layer unpacked beside the bomb must not stay either.
  images.mixed = buildImage([base, layerBlob(tar.tarArchive([file('fine', Buffer.from('a sound layer\n'))])), layerBlob(tar.tarArchive([file('zeros', Buffer.alloc(64 * MiB, 3))]))]);
  images.files = buildImage([base, layerBlob(tar.tarArchive(Array.from({ length: 1500 }, (_, i) => file(`many/${i}`, Buffer.alloc(0)))))]);
  // Each layer within the layer limit, together over the image limit.
  images.sum = buildImage([
    base,
    layerBlob(tar.tarArchive([file('a', Buffer.alloc(7 * MiB, 1))])),
    layerBlob(tar.tarArchive([file('b', Buffer.alloc(7 * MiB, 2))])),
  ]);
  const manifests: Record<string, { mediaType: string; bytes: Buffer }> = { oversize: { mediaType: MT.ociManifest, bytes: oversize.manifestBytes } };
  const blobs: Record<string, Buffer> = {};
  const chunked = new Set<string>();
  for (const img of [oversize, ...Object.values(images)]) {
    blobs[img.configDigest] = img.configBytes;
    for (const l of img.layers) {
      blobs[l.digest] = l.blob;
      chunked.add(l.digest);
    }
  }
  for (const [tag, img] of Object.entries(images)) manifests[tag] = { mediaType: MT.ociManifest, bytes: img.manifestBytes };
  fake = await startFakeRegistry('hostile/app', { manifests, blobs, chunked });
  d = await startCricket({
    configToml: `[registries."${fake.host}"]
insecure = true

[images]
max_layer_unpacked_bytes = ${LIMITS.layerBytes}
max_layer_files = ${LIMITS.layerFiles}
max_image_unpacked_bytes = ${LIMITS.imageBytes}
max_image_files = ${LIMITS.imageFiles}
`,
  });
});

after(async () => {
  await d?.stop();
  await fake?.stop();
});

const storeDir = (...p: string[]) => join(d.root, 'images', ...p);
const snapshot = () => ({
  layers: readdirSync(storeDir('layers')).sort(),
  blobs: readdirSync(storeDir('blobs', 'sha256')).sort(),
  tmp: readdirSync(storeDir('tmp')),
});

async function pullFails(tag: string, re: RegExp): Promise<void> {
  const before = snapshot();
  await assert.rejects(
    d.cri.image.call('PullImage', { image: { image: `${fake.host}/hostile/app:${tag}` } }, { deadlineMs: 120_000 }),
    (err: { code: number; details: string }) => {
      assert.equal(err.code, status.INVALID_ARGUMENT, err.details);
      assert.match(err.details, re);
      return true;
    },
  );
  assert.deepEqual(snapshot(), before, 'the failed pull left nothing in the store');
  const { images: listed } = await d.cri.image.call<{ images: Array<{ repo_tags: string[] }> }>('ListImages', {});
  assert.ok(!listed.some((i) => i.repo_tags.some((t) => t.includes('hostile/app'))), 'not listed');
}

test('a blob longer than its manifest says is cut off as it streams', async () => {
  await pullFails('oversize', /registry sends more than the 1048576 bytes the manifest gives/);
  const top = oversize.layers[oversize.layers.length - 1]!;
  const sent = fake.served.filter((s) => s.digest === top.digest);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.complete, false, `the whole ${top.blob.length} bytes were read (${sent[0]!.bytes} sent)`);
  assert.ok(sent[0]!.bytes < top.blob.length / 2, `${sent[0]!.bytes} of ${top.blob.length} bytes sent`);
});

test('a gzip bomb fails the pull at the layer limit', async () => {
  await pullFails('bomb', new RegExp(`layer unpacks to more than ${LIMITS.layerBytes} bytes \\(limit images\\.max_layer_unpacked_bytes\\)`));
});

test('a sound layer unpacked beside a bomb does not stay in the store', async () => {
  await pullFails('mixed', /layer 3\/3: .*layer unpacks to more than/);
});

test('a layer of too many entries fails the pull at the entry limit', async () => {
  await pullFails('files', new RegExp(`layer has more than ${LIMITS.layerFiles} entries \\(limit images\\.max_layer_files\\)`));
});

test('layers within their limit but over the image\'s together fail the pull', async () => {
  await pullFails('sum', new RegExp(`image unpacks to more than ${LIMITS.imageBytes} bytes \\(limit images\\.max_image_unpacked_bytes\\)`));
});
