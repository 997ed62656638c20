import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findInLayers } from '../../src/image/layers.js';
import { mountRootfs, unmountRootfs } from '../../src/image/rootfs.js';
import { ImageStore } from '../../src/image/store.js';

interface Layer {
  diffId: string;
}
interface OciLib {
  makeLayer(entries: Array<{ path: string; type?: 'file' | 'dir' | 'symlink'; data?: Buffer; mode?: number; linkname?: string }>): Layer;
  makeImage(spec: { ref: string; config: Record<string, unknown>; layers: Layer[] }): unknown;
  writeLayout(dir: string, image: unknown): void;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const built = join(repoRoot, 'build', 'images');
let oci: OciLib;
let work: string;
let store: ImageStore;
const targets: string[] = [];
let n = 0;

const mountCount = (path: string): number =>
  readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === path).length;

function target(): string {
  const t = join(work, `rootfs-${++n}`);
  targets.push(t);
  return t;
}

before(async () => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts/build-images.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  oci = (await import(pathToFileURL(join(repoRoot, 'images/lib/oci.mjs')).href)) as OciLib;
  work = mkdtempSync(join(tmpdir(), 'cricket-rootfs-'));
  store = ImageStore.open(join(work, 'store'));
});

after(async () => {
  for (const t of targets) await unmountRootfs(t).catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

describe('overlay rootfs', () => {
  it('mounts the busybox image writable: bin/sh runs, writes and deletes go to the upper dir', async () => {
    const [img] = await store.importPath(join(built, 'busybox'));
    const layers = store.layerDirs(img!);
    const t = target();
    const upper = join(work, `upper-${n}`);
    await mountRootfs({ layers, upper, work: join(work, `work-${n}`), target: t });
    assert.equal(mountCount(t), 1);
    assert.ok(existsSync(join(t, 'bin/sh')));
    const out = execFileSync('chroot', [t, '/bin/sh', '-c', 'echo ok; id -un; cat /var/www/index.html'], { encoding: 'utf8' });
    assert.equal(out, 'ok\nroot\nhello from cricket busybox\n');

    writeFileSync(join(t, 'tmp/new'), 'x');
    assert.equal(readFileSync(join(upper, 'tmp/new'), 'utf8'), 'x');
    unlinkSync(join(t, 'etc/group'));
    const wh = lstatSync(join(upper, 'etc/group'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'the deletion is a whiteout in upper');
    assert.ok(existsSync(join(layers[0]!, 'etc/group')), 'the shared layer is untouched');
    assert.equal(existsSync(join(layers[0]!, 'tmp/new')), false);

    await mountRootfs({ layers, upper, work: join(work, `work-${n}`), target: t });
    assert.equal(mountCount(t), 1, 'mounting the same rootfs again is a no-op');
    await assert.rejects(mountRootfs({ layers: [layers[0]!], target: t }), /already has a different overlay mount/);
    assert.equal(mountCount(t), 1, 'a different rootfs is not stacked on an existing one');
    await unmountRootfs(t);
    assert.equal(mountCount(t), 0);
    await unmountRootfs(t);
    await unmountRootfs(join(work, 'never-existed'));
  });

  it('merges several layers read-only the way findInLayers reads them', async () => {
    const base = oci.makeLayer([
      { path: 'etc/', type: 'dir' },
      { path: 'etc/passwd', data: Buffer.from('root:x:0:0::/root:/bin/sh\n') },
      { path: 'etc/group', data: Buffer.from('root:x:0:\n') },
      { path: 'var/lib/db/old', data: Buffer.from('old') },
      { path: 'bottom', data: Buffer.from('bottom') },
    ]);
    const top = oci.makeLayer([
      { path: 'etc/passwd', data: Buffer.from('app:x:10:10::/:/bin/sh\n') },
      { path: 'etc/.wh.group', data: Buffer.alloc(0) },
      { path: 'var/lib/db/.wh..wh..opq', data: Buffer.alloc(0) },
      { path: 'var/lib/db/new', data: Buffer.from('new') },
      { path: 'link', type: 'symlink', linkname: '/etc/passwd' },
    ]);
    const layout = join(work, 'two-layers');
    oci.writeLayout(layout, oci.makeImage({ ref: 'cricket.local/two:1', config: {}, layers: [base, top] }));
    const [img] = await store.importPath(layout);
    const layers = store.layerDirs(img!);
    assert.equal(layers.length, 2);
    const t = target();
    await mountRootfs({ layers, target: t });
    assert.equal(readFileSync(join(t, 'etc/passwd'), 'utf8'), 'app:x:10:10::/:/bin/sh\n');
    assert.equal(existsSync(join(t, 'etc/group')), false, 'whiteout hides the lower file');
    assert.equal(existsSync(join(t, 'var/lib/db/old')), false, 'opaque directory hides lower content');
    assert.equal(readFileSync(join(t, 'var/lib/db/new'), 'utf8'), 'new');
    assert.equal(readFileSync(join(t, 'bottom'), 'utf8'), 'bottom');
    assert.throws(() => writeFileSync(join(t, 'x'), 'x'), /EROFS/);
    for (const p of ['etc/passwd', 'etc/group', 'var/lib/db/old', 'var/lib/db/new', 'bottom']) {
      const found = findInLayers(layers, p);
      assert.equal(found === undefined ? undefined : readFileSync(found, 'utf8'), existsSync(join(t, p)) ? readFileSync(join(t, p), 'utf8') : undefined, p);
    }
    assert.equal(readFileSync(findInLayers(layers, 'link')!, 'utf8'), 'app:x:10:10::/:/bin/sh\n');
    await unmountRootfs(t);
    assert.equal(mountCount(t), 0);
  });

  it('bind-mounts a single layer read-only', async () => {
    const [img] = await store.importPath(join(built, 'pause'));
    const t = target();
    await mountRootfs({ layers: store.layerDirs(img!), target: t });
    assert.ok(existsSync(join(t, 'pause')));
    assert.throws(() => writeFileSync(join(t, 'x'), 'x'), /EROFS/);
    await unmountRootfs(t);
    assert.equal(mountCount(t), 0);
  });

  it('unmounts mounts stacked at one path, and a directory with nothing mounted is no error', async () => {
    const [img] = await store.importPath(join(built, 'pause'));
    const t = target();
    await mountRootfs({ layers: store.layerDirs(img!), target: t });
    // A second file system on top, as a crash between two mounts could leave.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'stacked', t]);
    assert.equal(mountCount(t), 2);
    await unmountRootfs(t);
    assert.equal(mountCount(t), 0);
    assert.ok(existsSync(t), 'the directory itself stays');
    await unmountRootfs(t);
    // A rootfs mkdir'd before the mount (a retried call) is looked up in mountinfo: still one mount.
    await mountRootfs({ layers: store.layerDirs(img!), target: t });
    await mountRootfs({ layers: store.layerDirs(img!), target: t });
    assert.equal(mountCount(t), 1);
    await unmountRootfs(t);
    assert.equal(mountCount(t), 0);
  });

  it('mounts more layers than fit in one page of absolute paths', async () => {
    const parent = join(work, 'l'.repeat(120));
    const layers: string[] = [];
    for (let i = 0; i < 60; i++) {
      const d = join(parent, `layer-${String(i).padStart(2, '0')}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, `only-${i}`), String(i));
      writeFileSync(join(d, 'shared'), String(i));
      layers.push(d);
    }
    assert.ok(layers.join(':').length > 4096);
    const t = target();
    await mountRootfs({ layers, upper: join(work, 'long-upper'), work: join(work, 'long-work'), target: t });
    assert.equal(readFileSync(join(t, 'only-0'), 'utf8'), '0');
    assert.equal(readFileSync(join(t, 'only-59'), 'utf8'), '59');
    assert.equal(readFileSync(join(t, 'shared'), 'utf8'), '59', 'the last layer is the top one');
    await unmountRootfs(t);
  });

  it('refuses bad specs without mounting anything', async () => {
    const t = target();
    await assert.rejects(mountRootfs({ layers: [], target: t }), /no layers/);
    await assert.rejects(mountRootfs({ layers: ['relative/dir'], target: t }), /not absolute/);
    await assert.rejects(mountRootfs({ layers: [join(work, 'a:b')], target: t }), /contains/);
    await assert.rejects(mountRootfs({ layers: [join(work, 'missing')], target: t }), /does not exist/);
    assert.equal(mountCount(t), 0);
  });
});
