// Pulls from Debian's docker-registry (TLS with a CA made here) into a private image store:
// manifests of each kind, multi-arch selection, compression, whiteouts, layer reuse, concurrent
// pulls, mirrors, insecure registries, and hostile or broken content that must leave nothing.
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CricketError } from '../../src/errors.js';
import { Puller } from '../../src/image/pull.js';
import type { RegistriesConfig, RegistryHostConfig } from '../../src/image/registry-config.js';
import { ImageStore } from '../../src/image/store.js';
import { TEST_PREFIX } from '../harness/cricket.js';
import {
  buildImage, buildIndex, busyboxLayer, freePort, layerBlob, libs, sha256, startFakeRegistry, startRegistry,
  type BuiltImage, type TarSpec, type TestRegistry,
} from '../harness/registry.js';

let reg: TestRegistry;
let work: string;
let tarArchive: (entries: TarSpec[]) => Buffer;
let n = 0;

const host = (r: TestRegistry, extra: Partial<RegistryHostConfig> = {}): RegistriesConfig => ({
  [r.host]: { mirrors: [], caFiles: [r.ca.caCert], insecure: false, ...extra },
});
const freshStore = () => ImageStore.open(join(work, `store-${++n}`));
const isKind = (kind: string, re?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof CricketError, `a CricketError, got ${String(err)}`);
  assert.equal(err.kind, kind, err.message);
  if (re) assert.match(err.message, re);
  return true;
};
/** Nothing unpacked, half-unpacked or downloaded is left in the store. */
function assertEmptyStore(store: ImageStore): void {
  assert.deepEqual(store.list(), []);
  assert.deepEqual(readdirSync(join(store.root, 'layers')), []);
  assert.deepEqual(readdirSync(join(store.root, 'tmp')), []);
  assert.deepEqual(readdirSync(join(store.root, 'blobs', 'sha256')), []);
}

const file = (path: string, data: string, extra: Partial<TarSpec> = {}): TarSpec => ({ path, type: 'file', mode: 0o644, data: Buffer.from(data), ...extra });
const dir = (path: string, extra: Partial<TarSpec> = {}): TarSpec => ({ path, type: 'dir', mode: 0o755, ...extra });

let multi: BuiltImage;

before(async () => {
  work = mkdtempSync(`${TEST_PREFIX}pull-`);
  tarArchive = (await libs()).tar.tarArchive;
  reg = await startRegistry();
  const base = busyboxLayer();
  const l2 = layerBlob(tarArchive([
    dir('data/'), file('data/a', 'alpha'), file('data/b', 'beta'), file('data/owned', 'x', { uid: 1000, gid: 1001, mode: 0o640 }),
    { path: 'data/link', type: 'symlink', linkname: 'a' }, { path: 'data/hard', type: 'hardlink', linkname: 'data/a' },
    dir('data/sub/'), file('data/sub/old', 'old'), file('etc/motd', 'layer two'),
  ]));
  const l3 = layerBlob(tarArchive([
    dir('data/'), file('data/.wh.b', ''), dir('data/sub/'), file('data/sub/.wh..wh..opq', ''), file('data/sub/new', 'new'),
    file('etc/motd', 'layer three'),
  ]), 'none');
  const l4 = layerBlob(tarArchive([dir('z/'), file('z/zstd', 'compressed with zstd')]), 'zstd');
  multi = buildImage([base, l2, l3, l4]);
  await reg.push('test/multi', multi, 'v1');
});

after(async () => {
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('pull', () => {
  it('pulls a multi-layer OCI image (gzip, plain, zstd) with whiteouts, owners, links; by tag and by digest', async () => {
    const store = freshStore();
    const puller = new Puller(store, host(reg));
    const { image, layersFetched } = await puller.pull(`${reg.host}/test/multi:v1`);
    assert.equal(image.id, multi.configDigest);
    assert.deepEqual(image.repoTags, [`${reg.host}/test/multi:v1`]);
    assert.deepEqual(image.repoDigests, [`${reg.host}/test/multi@${multi.manifestDigest}`]);
    assert.equal(layersFetched, 4);
    assert.equal(image.layers.length, 4);
    const read = (p: string) => readFileSync(store.findFile(image, p)!, 'utf8');
    assert.equal(read('data/a'), 'alpha');
    assert.equal(store.findFile(image, 'data/b'), undefined, 'whited out');
    assert.equal(store.findFile(image, 'data/sub/old'), undefined, 'under an opaque directory');
    assert.equal(read('data/sub/new'), 'new');
    assert.equal(read('etc/motd'), 'layer three');
    assert.equal(read('data/link'), 'alpha');
    assert.equal(read('z/zstd'), 'compressed with zstd');
    assert.ok(store.findFile(image, 'bin/busybox'));
    const owned = lstatSync(store.findFile(image, 'data/owned')!);
    assert.deepEqual([owned.uid, owned.gid, owned.mode & 0o7777], [1000, 1001, 0o640]);
    const [l2dir] = store.layerDirs(image).slice(1, 2);
    assert.equal(lstatSync(join(l2dir!, 'data/hard')).ino, lstatSync(join(l2dir!, 'data/a')).ino);
    assert.ok(lstatSync(join(store.layerDirs(image)[2]!, 'data/b')).isCharacterDevice(), 'overlay whiteout');

    // By digest: same image, known by its digest too; nothing fetched again.
    const again = await puller.pull(`${reg.host}/test/multi@${multi.manifestDigest}`);
    assert.equal(again.image.id, image.id);
    assert.equal(again.layersFetched, 0);
    assert.equal(again.layersPresent, 4);
    assert.equal(store.resolve(`${reg.host}/test/multi@${multi.manifestDigest}`)?.id, image.id);
  });

  it('picks linux/amd64 from an OCI index and from a Docker manifest list (Docker schema 2)', async () => {
    const base = busyboxLayer();
    const arm = buildImage([layerBlob(tarArchive([file('arch', 'arm64')]))], { arch: 'arm64' });
    const amd = buildImage([base, layerBlob(tarArchive([file('arch', 'amd64')]))], { arch: 'amd64' });
    const amdDocker = buildImage([base, layerBlob(tarArchive([file('arch', 'amd64-docker')]))], { docker: true });
    const oci = buildIndex([{ image: arm, arch: 'arm64', variant: 'v8' }, { image: amd, arch: 'amd64' }]);
    const list = buildIndex([{ image: arm, arch: 'arm64' }, { image: amdDocker, arch: 'amd64' }], true);
    await reg.pushIndex('test/multiarch', oci, [arm, amd], 'oci');
    await reg.pushIndex('test/multiarch', list, [arm, amdDocker], 'docker');
    const store = freshStore();
    const puller = new Puller(store, host(reg));
    const a = await puller.pull(`${reg.host}/test/multiarch:oci`);
    assert.equal(a.image.id, amd.configDigest);
    assert.deepEqual(a.image.repoDigests, [`${reg.host}/test/multiarch@${oci.digest}`], 'the index digest, as containerd records it');
    assert.equal(readFileSync(store.findFile(a.image, 'arch')!, 'utf8'), 'amd64');
    const d = await puller.pull(`${reg.host}/test/multiarch:docker`);
    assert.equal(d.image.id, amdDocker.configDigest);
    assert.equal(readFileSync(store.findFile(d.image, 'arch')!, 'utf8'), 'amd64-docker');
    assert.equal(d.layersPresent, 1, 'the shared busybox layer is reused');

    const armOnly = buildIndex([{ image: arm, arch: 'arm64' }]);
    await reg.pushIndex('test/armonly', armOnly, [arm], 'v1');
    await assert.rejects(puller.pull(`${reg.host}/test/armonly:v1`), isKind('not-found', /no image for linux\/amd64/));
  });

  it('fetches layers the store already has never again, and one image pulled twice at once only once', async () => {
    const store = freshStore();
    const puller = new Puller(store, host(reg));
    const img = buildImage([busyboxLayer(), layerBlob(tarArchive([file('once', `${Date.now()}`)]))]);
    await reg.push('test/once', img, 'v1');
    const before = reg.blobGets();
    const [a, b] = await Promise.all([puller.pull(`${reg.host}/test/once:v1`), puller.pull(`${reg.host}/test/once:v1`)]);
    assert.equal(a.image.id, b.image.id);
    // Config and two layers, once.
    assert.equal(reg.blobGets() - before, 3);
    // A second store (another process, say) pulling at the same time also ends up consistent.
    const second = new Puller(freshStore(), host(reg));
    const [c, d] = await Promise.all([second.pull(`${reg.host}/test/once:v1`), second.pull(`${reg.host}/test/once@${img.manifestDigest}`)]);
    assert.equal(c.image.id, d.image.id);
    const mid = reg.blobGets();
    await puller.pull(`${reg.host}/test/once:v1`);
    assert.equal(reg.blobGets() - mid, 1, 'only the config blob');
  });

  it('refuses a registry whose CA is not trusted, and unknown images and repositories', async () => {
    const store = freshStore();
    await assert.rejects(new Puller(store, {}).pull(`${reg.host}/test/multi:v1`), (err: unknown) => err instanceof CricketError && /certificate/i.test(err.message));
    await assert.rejects(new Puller(store, host(reg)).pull(`${reg.host}/test/multi:nope`), isKind('not-found'));
    await assert.rejects(new Puller(store, host(reg)).pull(`${reg.host}/test/nothing:v1`), isKind('not-found'));
    assertEmptyStore(store);
  });

  it('tries mirrors in order, then the registry itself; plain HTTP only for insecure registries', async () => {
    const plain = await startRegistry({ tls: false });
    try {
      const img = buildImage([busyboxLayer()], { salt: 'mirrored' });
      await plain.push('library/mirrored', img, 'v1');
      const store = freshStore();
      // An image of a registry nothing listens on, found on the mirror.
      const dead = `127.0.0.1:${await freePort()}`;
      const registries: RegistriesConfig = {
        [dead]: { mirrors: [reg.host, plain.host], caFiles: [], insecure: false },
        ...host(reg),
        [plain.host]: { mirrors: [], caFiles: [], insecure: true },
      };
      const r = await new Puller(store, registries).pull(`${dead}/library/mirrored:v1`);
      assert.equal(r.image.id, img.configDigest);
      assert.equal(r.endpoint, plain.host, 'the first mirror lacks it; the second has it');
      assert.deepEqual(r.image.repoTags, [`${dead}/library/mirrored:v1`], 'named as asked, not after the mirror');
      // Without insecure = true, cricket speaks TLS to it and fails.
      await assert.rejects(new Puller(freshStore(), {}).pull(`${plain.host}/library/mirrored:v1`), isKind('internal'));
      // With it, directly.
      const direct = await new Puller(freshStore(), { [plain.host]: { mirrors: [], caFiles: [], insecure: true } }).pull(`${plain.host}/library/mirrored:v1`);
      assert.equal(direct.image.id, img.configDigest);
      // When every endpoint fails, the error names each.
      await assert.rejects(new Puller(freshStore(), registries).pull(`${dead}/library/absent:v1`), (err: unknown) => {
        assert.ok(err instanceof CricketError);
        assert.match(err.message, new RegExp(`mirror ${reg.host.replace(/\./g, '\\.')}`));
        assert.match(err.message, /ECONNREFUSED/);
        return true;
      });
    } finally {
      await plain.stop();
    }
  });

  it('rejects every kind of escaping layer and keeps nothing of it', async () => {
    const hostile: Array<[string, TarSpec[]]> = [
      ['dot-dot path', [file('../escape', 'x')]],
      ['absolute path', [file('/etc/escape', 'x')]],
      ['write through a symlink', [{ path: 'evil', type: 'symlink', linkname: '/tmp' }, file('evil/escape', 'x')]],
      ['hard link out of the layer', [{ path: 'passwd', type: 'hardlink', linkname: '../../../../etc/passwd' }]],
      ['hard link to a host path', [{ path: 'passwd', type: 'hardlink', linkname: '/etc/passwd' }]],
      ['symlinked parent directory', [{ path: 'd', type: 'symlink', linkname: '../../..' }, dir('d/x/')]],
    ];
    for (const [what, entries] of hostile) {
      const img = buildImage([busyboxLayer(), layerBlob(tarArchive(entries))], { salt: what });
      const repo = `test/hostile-${hostile.findIndex(([w]) => w === what)}`;
      await reg.push(repo, img, 'v1');
      const store = freshStore();
      await assert.rejects(new Puller(store, host(reg)).pull(`${reg.host}/${repo}:v1`), isKind('invalid-argument'), what);
      assert.deepEqual(store.list(), [], what);
      // The busybox layer may have been unpacked beside it: it is complete and harmless, but
      // nothing of the hostile layer, and no temp directory, is there.
      const left = readdirSync(join(store.root, 'layers'));
      assert.ok(left.every((l) => /^[0-9a-f]{64}$/.test(l)), `${what}: ${left.join(', ')}`);
      assert.ok(left.length <= 1, what);
      assert.deepEqual(readdirSync(join(store.root, 'tmp')), [], what);
    }
    assert.throws(() => lstatSync('/tmp/escape'));
    assert.throws(() => lstatSync('/etc/escape'));
  });
});

describe('pull from a fake registry', () => {
  const config = (host: string): RegistriesConfig => ({ [host]: { mirrors: [], caFiles: [], insecure: true } });

  it('fails on a blob whose content does not match its digest, storing nothing', async () => {
    const good = layerBlob(tarArchive([file('f', 'good')]));
    const evil = Buffer.from(layerBlob(tarArchive([file('f', 'evil')])).blob);
    const img = buildImage([good]);
    const fake = await startFakeRegistry('x/y', {
      manifests: { v1: { mediaType: img.mediaType, bytes: img.manifestBytes } },
      blobs: { [img.configDigest]: img.configBytes, [good.digest]: evil },
    });
    try {
      const store = freshStore();
      await assert.rejects(new Puller(store, config(fake.host)).pull(`${fake.host}/x/y:v1`), isKind('invalid-argument', /digest mismatch|size mismatch/));
      assertEmptyStore(store);
      // A config that is not what the manifest says is refused before any layer is fetched.
      const fake2 = await startFakeRegistry('x/y', {
        manifests: { v1: { mediaType: img.mediaType, bytes: img.manifestBytes } },
        blobs: { [img.configDigest]: Buffer.from('{}'), [good.digest]: good.blob },
      });
      try {
        await assert.rejects(new Puller(store, config(fake2.host)).pull(`${fake2.host}/x/y:v1`), isKind('invalid-argument', /digest mismatch/));
        assert.equal(fake2.hits.get(`/v2/x/y/blobs/${good.digest}`), undefined);
        assertEmptyStore(store);
      } finally {
        await fake2.stop();
      }
      // A manifest asked for by digest that is not that digest.
      const wrong = sha256('not the manifest');
      const fake3 = await startFakeRegistry('x/y', { manifests: { [wrong]: { mediaType: img.mediaType, bytes: img.manifestBytes } }, blobs: {} });
      try {
        await assert.rejects(new Puller(store, config(fake3.host)).pull(`${fake3.host}/x/y@${wrong}`), isKind('invalid-argument', /digest mismatch/));
      } finally {
        await fake3.stop();
      }
    } finally {
      await fake.stop();
    }
  });

  it('an interrupted download leaves nothing a later pull could trust', async () => {
    const big = layerBlob(tarArchive([file('big', 'x'.repeat(2_000_000))]), 'none');
    const img = buildImage([big]);
    const content = {
      manifests: { v1: { mediaType: img.mediaType, bytes: img.manifestBytes } },
      blobs: { [img.configDigest]: img.configBytes, [big.digest]: big.blob },
      cut: new Set([big.digest]),
    };
    const fake = await startFakeRegistry('x/y', content);
    try {
      const store = freshStore();
      await assert.rejects(new Puller(store, config(fake.host)).pull(`${fake.host}/x/y:v1`));
      assertEmptyStore(store);
      content.cut.clear();
      const r = await new Puller(store, config(fake.host)).pull(`${fake.host}/x/y:v1`);
      assert.equal(r.layersFetched, 1);
      assert.equal(readFileSync(store.findFile(r.image, 'big')!, 'utf8').length, 2_000_000);
    } finally {
      await fake.stop();
    }
  });

  it('refuses schema 1 manifests and unknown media types clearly', async () => {
    const s1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x/y', tag: 'v1', fsLayers: [] }));
    const fake = await startFakeRegistry('x/y', {
      manifests: { v1: { mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws', bytes: s1 } },
      blobs: {},
    });
    try {
      await assert.rejects(new Puller(freshStore(), config(fake.host)).pull(`${fake.host}/x/y:v1`), isKind('invalid-argument', /schema 1/));
    } finally {
      await fake.stop();
    }
  });
});
