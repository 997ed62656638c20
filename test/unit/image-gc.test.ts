import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { ImageStore } from '../../src/image/store.js';

interface Layer { tar: Buffer; gz: Buffer; diffId: string; digest: string }
interface OciLib {
  makeLayer(entries: Array<{ path: string; data?: Buffer; type?: string }>): Layer;
  makeImage(spec: { ref: string; config: Record<string, unknown>; layers: Layer[] }): unknown;
  writeLayout(dir: string, image: unknown): void;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
let oci: OciLib;
let work: string;
before(async () => {
  oci = (await import(pathToFileURL(join(repoRoot, 'images/lib/oci.mjs')).href)) as OciLib;
  work = mkdtempSync(join(tmpdir(), 'cricket-gc-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

function layout(name: string, layers: Layer[]): string {
  const dir = join(work, 'layouts', name);
  oci.writeLayout(dir, oci.makeImage({ ref: `cricket.local/${name}:1`, config: { Cmd: ['sh'] }, layers }));
  return dir;
}

describe('image store garbage collection', () => {
  it('removing an image deletes only what no other image or container needs', async () => {
    const shared = oci.makeLayer([{ path: 'shared', data: Buffer.from('shared') }]);
    const onlyA = oci.makeLayer([{ path: 'a', data: Buffer.from('a') }]);
    const onlyB = oci.makeLayer([{ path: 'b', data: Buffer.from('b') }]);
    const store = ImageStore.open(join(work, 'store'));
    const [a] = await store.importPath(layout('a', [shared, onlyA]));
    const [b] = await store.importPath(layout('b', [shared, onlyB]));
    const layerNames = () => readdirSync(join(store.root, 'layers')).sort();
    assert.equal(layerNames().length, 3);
    const usage = await store.usage();
    assert.ok(usage.bytes > 0 && usage.inodes > 5);

    // b is removed while a container runs from it: nothing of it goes yet.
    await store.remove(b!.id, new Set([b!.id]));
    assert.equal(store.resolve(b!.id), undefined);
    assert.equal(layerNames().length, 3);
    assert.ok(existsSync(join(store.root, 'blobs', 'sha256', b!.id.slice(7))), 'its config stays: it names the layers');
    // The container is gone: its top layer and config go; the shared layer stays for a.
    assert.deepEqual(await store.collectGarbage(new Set()), { layers: 1, blobs: 1 }, 'its manifest went with the image; now its config');
    assert.deepEqual(layerNames(), [...a!.layers.map((l) => l.slice(7))].sort());
    assert.ok(!existsSync(join(store.root, 'blobs', 'sha256', b!.id.slice(7))));

    // Orphans (a layer and a blob no image names) are collected; temp work is not touched.
    const orphan = join(store.root, 'layers', 'f'.repeat(64));
    mkdirSync(join(orphan, 'fs'), { recursive: true });
    writeFileSync(join(store.root, 'blobs', 'sha256', 'e'.repeat(64)), 'x');
    const tmp = join(store.root, 'layers', `.tmp-${process.pid}-abc`);
    mkdirSync(tmp);
    assert.deepEqual(await store.collectGarbage(), { layers: 1, blobs: 1 });
    assert.ok(existsSync(tmp));
    rmSync(tmp, { recursive: true });

    await store.remove(a!.id);
    assert.deepEqual(layerNames(), []);
    assert.deepEqual(readdirSync(join(store.root, 'blobs', 'sha256')), []);
    assert.ok((await store.usage()).bytes < usage.bytes);
  });
});
