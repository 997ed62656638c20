// Small test images built on the spot (on top of the busybox image, or alone) and imported into
// a test daemon's store with cricket's CLI, as an operator would.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUSYBOX_LAYOUT, REPO, cricketCli, type TestDaemon } from './cricket.js';

export interface TarEntry {
  path: string;
  type?: 'file' | 'dir' | 'symlink';
  data?: Buffer;
  mode?: number;
  linkname?: string;
}

interface Layer { gz: Buffer; diffId: string; digest: string }
interface OciLib {
  makeLayer(entries: TarEntry[]): Layer;
  makeImage(spec: { ref: string; config: Record<string, unknown>; layers: Layer[] }): unknown;
  writeLayout(dir: string, image: unknown): void;
}

const oci = async () => (await import(pathToFileURL(join(REPO, 'images/lib/oci.mjs')).href)) as OciLib;

/** The busybox image's layers and config, read back from its OCI layout. */
function busyboxParts(): { layers: Layer[]; config: Record<string, unknown> } {
  const blob = (digest: string) => readFileSync(join(BUSYBOX_LAYOUT, 'blobs', 'sha256', digest.replace('sha256:', '')));
  const index = JSON.parse(readFileSync(join(BUSYBOX_LAYOUT, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(blob(index.manifests[0]!.digest).toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
  const config = JSON.parse(blob(manifest.config.digest).toString('utf8')) as { config: Record<string, unknown>; rootfs: { diff_ids: string[] } };
  return {
    config: config.config,
    layers: manifest.layers.map((l, i) => ({ gz: blob(l.digest), digest: l.digest, diffId: config.rootfs.diff_ids[i]! })),
  };
}

/**
 * Builds an image of `entries` (over busybox when `onBusybox`; `upper` adds a layer on top) and
 * imports it as `ref`. Returns the image's layer count.
 */
export async function importTestImage(d: TestDaemon, ref: string, entries: TarEntry[], opts: { onBusybox?: boolean; config?: Record<string, unknown>; upper?: TarEntry[] } = {}): Promise<number> {
  const lib = await oci();
  const base = opts.onBusybox ? busyboxParts() : { layers: [], config: {} };
  const layers = [...base.layers, lib.makeLayer(entries), ...(opts.upper ? [lib.makeLayer(opts.upper)] : [])];
  const image = lib.makeImage({ ref, config: { ...base.config, ...opts.config }, layers });
  const dir = join(d.dir, `layout-${ref.replace(/[^a-z0-9]/gi, '_')}`);
  lib.writeLayout(dir, image);
  try {
    cricketCli(['image', 'import', dir, '--name', ref, '--root', d.root]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return layers.length;
}
