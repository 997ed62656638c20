import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CricketError } from '../../src/errors.js';
import { ImageStore } from '../../src/image/store.js';

interface TarSpec {
  path: string;
  type?: 'file' | 'hardlink' | 'symlink' | 'dir';
  mode?: number;
  linkname?: string;
  data?: Buffer;
}
interface Layer {
  tar: Buffer;
  gz: Buffer;
  diffId: string;
  digest: string;
}
interface BuiltImage {
  configDesc: { digest: string };
  manifestDesc: { digest: string };
}
/** images/lib/oci.mjs: the writers the image build uses. */
interface OciLib {
  makeLayer(entries: TarSpec[]): Layer;
  makeImage(spec: { ref: string; config: Record<string, unknown>; layers: Layer[] }): BuiltImage;
  writeLayout(dir: string, image: BuiltImage): void;
  ociArchive(image: BuiltImage): Buffer;
  dockerArchive(image: BuiltImage, opts?: { gzipLayers?: boolean }): Buffer;
  sha256(buf: Buffer): string;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const built = join(repoRoot, 'build', 'images');
let oci: OciLib;
let work: string;
let n = 0;
const freshRoot = () => join(work, `store-${++n}`);
const isKind = (kind: string) => (err: unknown) => err instanceof CricketError && err.kind === kind;

before(async () => {
  // Idempotent and quick when the images are up to date.
  execFileSync(process.execPath, [join(repoRoot, 'scripts/build-images.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  oci = (await import(pathToFileURL(join(repoRoot, 'images/lib/oci.mjs')).href)) as OciLib;
  work = mkdtempSync(join(tmpdir(), 'cricket-store-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('image store: import', () => {
  it('imports the busybox OCI layout: tags, digests, config, hard-linked applets', async () => {
    const store = ImageStore.open(freshRoot());
    const [img, ...rest] = await store.importPath(join(built, 'busybox'));
    assert.equal(rest.length, 0);
    assert.ok(img);
    assert.deepEqual(img.repoTags, ['cricket.local/busybox:latest']);
    assert.match(img.repoDigests[0]!, /^cricket\.local\/busybox@sha256:[0-9a-f]{64}$/);
    assert.match(img.id, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(img.config.cmd, ['sh']);
    assert.ok(img.config.env.some((e) => e.startsWith('PATH=')));
    assert.equal(img.pinned, false);
    const [fs] = store.layerDirs(img);
    assert.ok(fs && existsSync(join(fs, 'bin/sh')));
    const sh = statSync(join(fs, 'bin/sh'));
    assert.equal(sh.ino, statSync(join(fs, 'bin/busybox')).ino, 'applets are hard links');
    assert.equal(sh.ino, statSync(join(fs, 'usr/sbin/httpd')).ino);
    assert.ok(img.size > 1_000_000 && img.size < 10_000_000, `size ${img.size}`);
    assert.equal(readFileSync(store.findFile(img, 'etc/passwd')!, 'utf8').split('\n').find((l) => l.startsWith('www:')), 'www:x:1000:1000:www:/var/www:/bin/sh');
    const config = JSON.parse((await store.readConfig(img)).toString()) as { config: { Cmd: string[] } };
    assert.deepEqual(config.config.Cmd, ['sh']);
  });

  it('imports the pause OCI archive pinned', async () => {
    const store = ImageStore.open(freshRoot());
    const [img] = await store.importPath(join(built, 'pause.oci.tar'), { pinned: true });
    assert.ok(img);
    assert.deepEqual(img.repoTags, ['cricket.local/pause:built-in']);
    assert.equal(img.pinned, true);
    assert.deepEqual(img.config.entrypoint, ['/pause']);
    assert.equal(img.config.user, '65535:65535');
    const [fs] = store.layerDirs(img);
    assert.equal(statSync(join(fs!, 'pause')).mode & 0o777, 0o755);
    assert.deepEqual(readdirSync(join(store.root, 'tmp')), [], 'the unpacked archive is gone');
    await assert.rejects(store.remove('cricket.local/pause:built-in'), isKind('failed-precondition'));
  });

  it('imports a docker save archive to the same image as the OCI layout, sharing the layer', async () => {
    const store = ImageStore.open(freshRoot());
    const [fromOci] = await store.importPath(join(built, 'busybox'));
    const layerDir = store.layerDirs(fromOci!)[0]!;
    const before = statSync(layerDir).ino;
    const [fromDocker] = await store.importPath(join(built, 'busybox.docker.tar'));
    assert.equal(fromDocker!.id, fromOci!.id);
    assert.deepEqual(fromDocker!.repoTags, ['cricket.local/busybox:latest']);
    assert.deepEqual(fromDocker!.repoDigests, fromOci!.repoDigests, 'digests from the OCI import stay');
    assert.equal(statSync(layerDir).ino, before, 'the layer was not unpacked again');
    assert.equal(store.list().length, 1);
  });

  it('imports a gzip docker archive with gzip layers under --name', async () => {
    const plain = join(work, 'bb-gz-layers.docker.tar');
    execFileSync(process.execPath, [join(repoRoot, 'scripts/build-images.mjs'), '--docker-archive', 'busybox', plain, '--gzip-layers'], { stdio: 'ignore' });
    const gz = join(work, 'bb.docker.tar.gz');
    writeFileSync(gz, gzipSync(readFileSync(plain)));
    const store = ImageStore.open(freshRoot());
    const [img] = await store.importPath(gz, { name: 'busybox:gz' });
    assert.deepEqual(img!.repoTags, ['docker.io/library/busybox:gz']);
    assert.deepEqual(img!.repoDigests, [], 'a docker archive has no manifest digest');
    assert.ok(existsSync(join(store.layerDirs(img!)[0]!, 'bin/sh')));
  });

  it('refuses a layer blob whose content does not match its digest, leaving nothing', async () => {
    const layout = join(work, `tampered-${++n}`);
    cpSync(join(built, 'busybox'), layout, { recursive: true });
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const manifest = JSON.parse(readFileSync(join(layout, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string; size: number }> };
    const layer = manifest.layers[0]!;
    // A valid gzip tar, but not the one the manifest names.
    const other = oci.makeLayer([{ path: 'bin/sh', data: Buffer.from('#!evil') }]).gz;
    writeFileSync(join(layout, 'blobs/sha256', layer.digest.slice(7)), other);
    const store = ImageStore.open(freshRoot());
    await assert.rejects(store.importPath(layout), (err: unknown) => isKind('invalid-argument')(err) && /digest mismatch|size mismatch/.test((err as Error).message));
    assert.deepEqual(store.list(), []);
    assert.deepEqual(readdirSync(join(store.root, 'layers')), []);
    assert.deepEqual(readdirSync(join(store.root, 'blobs/sha256')), []);
  });

  it('refuses a config or manifest blob that does not match its digest', async () => {
    const layout = join(work, `tampered-${++n}`);
    cpSync(join(built, 'pause'), layout, { recursive: true });
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const manifestPath = join(layout, 'blobs/sha256', index.manifests[0]!.digest.slice(7));
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { config: { digest: string } };
    const configPath = join(layout, 'blobs/sha256', manifest.config.digest.slice(7));
    const config = readFileSync(configPath);
    writeFileSync(configPath, Buffer.from(config.toString().replace('65535:65535', '0:0')));
    const store = ImageStore.open(freshRoot());
    await assert.rejects(store.importPath(layout), (err: unknown) => isKind('invalid-argument')(err) && /digest mismatch/.test((err as Error).message));
    writeFileSync(configPath, config);
    writeFileSync(manifestPath, `${readFileSync(manifestPath, 'utf8')} `);
    await assert.rejects(store.importPath(layout), /digest mismatch/);
    assert.deepEqual(store.list(), []);
  });

  it('refuses what is not an image', async () => {
    const store = ImageStore.open(freshRoot());
    const junk = join(work, 'junk.tar');
    writeFileSync(junk, 'not a tar at all'.repeat(100));
    await assert.rejects(store.importPath(junk), isKind('invalid-argument'));
    await assert.rejects(store.importPath(join(work, 'missing.tar')), isKind('not-found'));
    await assert.rejects(store.importPath(work), isKind('invalid-argument'));
    await assert.rejects(store.importPath(join(built, 'busybox'), { name: 'Bad Name' }), isKind('invalid-argument'));
    assert.deepEqual(readdirSync(join(store.root, 'tmp')), []);
  });

  it('imports the same image twice at once without harm', async () => {
    const store = ImageStore.open(freshRoot());
    const [a, b] = await Promise.all([store.importPath(join(built, 'busybox')), store.importPath(join(built, 'busybox.oci.tar'))]);
    assert.equal(a[0]!.id, b[0]!.id);
    assert.equal(store.list().length, 1);
    assert.deepEqual(readdirSync(join(store.root, 'layers')).filter((d) => d.startsWith('.')), []);
  });
});

describe('image store: crash leftovers', () => {
  it('removes temp dirs of dead processes on open and takes over a dead process\'s lock', async () => {
    const root = freshRoot();
    ImageStore.open(root);
    const dead = 4_194_305; // above the kernel's PID_MAX_LIMIT: never a live process
    mkdirSync(join(root, 'layers', `.tmp-${dead}-abc`, 'fs'), { recursive: true });
    mkdirSync(join(root, 'tmp', `import-${dead}-abc`), { recursive: true });
    writeFileSync(join(root, 'index.lock'), `${dead}\n`);
    const store = ImageStore.open(root);
    assert.deepEqual(readdirSync(join(root, 'layers')), []);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
    const [img] = await store.importPath(join(built, 'pause'));
    assert.ok(img);
    assert.equal(existsSync(join(root, 'index.lock')), false);
  });
});

describe('image store: lookup', () => {
  it('resolves references, ids and id prefixes', async () => {
    const store = ImageStore.open(freshRoot());
    const [img] = await store.importPath(join(built, 'busybox'));
    const id = img!.id;
    const hex = id.slice(7);
    for (const ref of ['cricket.local/busybox', 'cricket.local/busybox:latest', id, hex, hex.slice(0, 12), `sha256:${hex.slice(0, 12)}`, img!.repoDigests[0]!, img!.repoDigests[0]!.split('@')[1]!]) {
      assert.equal(store.resolve(ref)?.id, id, ref);
    }
    for (const ref of ['busybox', 'cricket.local/busybox:other', 'docker.io/library/busybox:latest', 'ab', 'not a ref', `sha256:${'0'.repeat(64)}`]) {
      assert.equal(store.resolve(ref), undefined, ref);
    }
  });

  it('notices images another store instance (another process) added or removed', async () => {
    const root = freshRoot();
    const daemon = ImageStore.open(root);
    assert.deepEqual(daemon.list(), []);
    const cli = ImageStore.open(root);
    await cli.importPath(join(built, 'pause'));
    assert.equal(daemon.resolve('cricket.local/pause:built-in')?.repoTags[0], 'cricket.local/pause:built-in');
    await cli.remove('cricket.local/pause:built-in');
    assert.equal(daemon.resolve('cricket.local/pause:built-in'), undefined);
  });

  it('sees an import made by the CLI in a child process while open', async () => {
    const root = freshRoot();
    const store = ImageStore.open(root);
    const cli = pathToFileURL(join(repoRoot, 'dist/src/cli/image.js')).href;
    const script = `import { imageCommand } from '${cli}'; process.exitCode = await imageCommand(process.argv.slice(1), { root: ${JSON.stringify(root)} });`;
    const run = (...args: string[]) =>
      execFileSync(process.execPath, ['--input-type=module', '-e', script, ...args], { encoding: 'utf8', env: { ...process.env, CRICKET_LOG_LEVEL: 'silent' } });
    assert.match(run('import', join(built, 'busybox.oci.tar'), '--name', 'cricket.local/bb:cli'), /^imported cricket\.local\/bb:cli sha256:[0-9a-f]{64} \(1 layer, [0-9.]+ MB\)\n$/);
    assert.equal(store.resolve('cricket.local/bb:cli')?.repoTags[0], 'cricket.local/bb:cli');
    const ls = run('ls');
    assert.match(ls, /^IMAGE\s+TAG\s+IMAGE ID\s+SIZE\s+PINNED\n/);
    assert.match(ls, /cricket\.local\/bb\s+cli\s+[0-9a-f]{13}\s+[0-9.]+ MB/);
  });
});

describe('image store: remove', () => {
  it('keeps layers another image still uses, and deletes them with the last user', async () => {
    const base = oci.makeLayer([{ path: 'etc/', type: 'dir' }, { path: 'etc/os-release', data: Buffer.from('base\n') }]);
    const top = oci.makeLayer([{ path: 'app', data: Buffer.from('app\n'), mode: 0o755 }]);
    const a = oci.makeImage({ ref: 'cricket.local/base:1', config: { Cmd: ['sh'] }, layers: [base] });
    const b = oci.makeImage({ ref: 'cricket.local/app:1', config: { Cmd: ['/app'] }, layers: [base, top] });
    const la = join(work, `layout-a-${++n}`);
    const lb = join(work, `layout-b-${n}`);
    oci.writeLayout(la, a);
    oci.writeLayout(lb, b);
    const store = ImageStore.open(freshRoot());
    const [imgA] = await store.importPath(la);
    const [imgB] = await store.importPath(lb);
    assert.equal(imgB!.layers[0], imgA!.layers[0], 'the base layer is shared by chain id');
    const [baseDir, topDir] = store.layerDirs(imgB!);
    assert.equal(store.layerDirs(imgA!)[0], baseDir);

    const removed = await store.remove('cricket.local/base:1');
    assert.equal(removed?.id, imgA!.id);
    assert.ok(existsSync(join(baseDir!, 'etc/os-release')), 'base layer kept for app:1');
    assert.equal(store.resolve('cricket.local/base:1'), undefined);
    assert.equal(await store.remove('cricket.local/base:1'), undefined, 'removing twice is not an error');

    await store.remove(imgB!.id);
    assert.equal(existsSync(baseDir!), false);
    assert.equal(existsSync(topDir!), false);
    assert.deepEqual(readdirSync(join(store.root, 'layers')), []);
    assert.deepEqual(readdirSync(join(store.root, 'blobs/sha256')), []);
    assert.deepEqual(store.list(), []);
  });

  it('moves a tag to the image that is imported under it', async () => {
    const one = oci.makeImage({ ref: 'cricket.local/t:1', config: {}, layers: [oci.makeLayer([{ path: 'one', data: Buffer.from('1') }])] });
    const two = oci.makeImage({ ref: 'cricket.local/t:2', config: {}, layers: [oci.makeLayer([{ path: 'two', data: Buffer.from('2') }])] });
    const l1 = join(work, `layout-1-${++n}`);
    const l2 = join(work, `layout-2-${n}`);
    oci.writeLayout(l1, one);
    oci.writeLayout(l2, two);
    const store = ImageStore.open(freshRoot());
    const [i1] = await store.importPath(l1, { name: 'cricket.local/t:latest' });
    const [i2] = await store.importPath(l2, { name: 'cricket.local/t:latest' });
    assert.equal(store.resolve('cricket.local/t')?.id, i2!.id);
    assert.deepEqual(store.resolve(i1!.id)?.repoTags, []);
  });
});
