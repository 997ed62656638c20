// An import that fails half-way (a full disk, a damaged layer, an index that cannot be written)
// leaves the image store as it found it: no blob, layer or temp directory of it stays.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ImageStore } from '../../src/image/store.js';

interface Layer { tar: Buffer; gz: Buffer; diffId: string; digest: string }
interface OciLib {
  makeLayer(entries: Array<{ path: string; data?: Buffer }>): Layer;
  makeImage(spec: { ref: string; config: Record<string, unknown>; layers: Layer[] }): unknown;
  writeLayout(dir: string, image: unknown): void;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
let oci: OciLib;
let work: string;
before(async () => {
  oci = (await import(pathToFileURL(join(repoRoot, 'images/lib/oci.mjs')).href)) as OciLib;
  work = mkdtempSync(join(tmpdir(), 'cricket-import-failure-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

function contents(store: ImageStore): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const d of ['layers', 'blobs/sha256', 'tmp']) out[d] = readdirSync(join(store.root, d)).sort();
  return out;
}

test('an index that cannot be written takes back the blobs and layers the import added', async () => {
  const store = ImageStore.open(join(work, 'index-fails'));
  const first = oci.makeLayer([{ path: 'one', data: Buffer.from('1') }]);
  const dir = join(work, 'layout-a');
  oci.writeLayout(dir, oci.makeImage({ ref: 'cricket.local/a:1', config: { Cmd: ['sh'] }, layers: [first] }));
  const empty = contents(store);
  // A directory where the index file goes: reading and replacing it fail, as on a broken disk.
  mkdirSync(join(store.root, 'index.json', 'x'), { recursive: true });
  await assert.rejects(store.importPath(dir), /image cricket\.local\/a:1/);
  assert.deepEqual(contents(store), empty);
});

test('a layer that fails takes the layers unpacked beside it along', async () => {
  const store = ImageStore.open(join(work, 'layer-fails'));
  const good = oci.makeLayer([{ path: 'good', data: Buffer.from('fine') }]);
  const bad = oci.makeLayer([{ path: 'bad', data: Buffer.from('will be damaged') }]);
  const dir = join(work, 'layout-b');
  oci.writeLayout(dir, oci.makeImage({ ref: 'cricket.local/b:1', config: { Cmd: ['sh'] }, layers: [good, bad] }));
  // Damage the second layer's blob: its digest no longer matches.
  writeFileSync(join(dir, 'blobs', 'sha256', bad.digest.slice(7)), Buffer.from('not a tar'));
  const empty = contents(store);
  await assert.rejects(store.importPath(dir));
  assert.deepEqual(contents(store), empty);
  // The store still works: the good layer's image imports afterwards.
  const ok = join(work, 'layout-c');
  oci.writeLayout(ok, oci.makeImage({ ref: 'cricket.local/c:1', config: { Cmd: ['sh'] }, layers: [good] }));
  const [rec] = await store.importPath(ok);
  assert.equal(rec?.layers.length, 1);
});
