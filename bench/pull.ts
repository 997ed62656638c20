// npm run bench (part 2): time to pull a ~50 MB multi-layer image from a local docker-registry
// (TLS, loopback) into an empty store and into a store that has its layers, and the layer
// extraction rate. Runs its own registry and store on private directories, removed at the end.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageStore } from '../src/image/store.js';
import { Puller } from '../src/image/pull.js';
import { fileBlob, unpackLayer } from '../src/image/unpack.js';
import { TEST_PREFIX } from '../test/harness/cricket.js';
import { buildImage, busyboxLayer, layerBlob, libs, startRegistry, type TarSpec } from '../test/harness/registry.js';
import { median } from './percentiles.js';

const LAYERS = Number(process.env.BENCH_PULL_LAYERS ?? 5);
const RUNS = Number(process.env.BENCH_PULL_RUNS ?? 3);

/** ~10 MB of files per layer, like an application layer: many small files and a few big ones, mostly incompressible. */
function layerEntries(k: number): TarSpec[] {
  const entries: TarSpec[] = [{ path: `app${k}/`, type: 'dir', mode: 0o755 }, { path: `app${k}/small/`, type: 'dir', mode: 0o755 }];
  const text = Buffer.from(`layer ${k}: the quick brown fox jumps over the lazy dog\n`.repeat(100));
  for (let i = 0; i < 800; i++) {
    entries.push({ path: `app${k}/small/${i}.txt`, type: 'file', mode: 0o644, data: Buffer.concat([randomBytes(3072), text.subarray(0, 1024 + (i % 7) * 512)]) });
  }
  for (let i = 0; i < 3; i++) entries.push({ path: `app${k}/big-${i}.bin`, type: 'file', mode: 0o755, data: Buffer.concat([randomBytes(1_600_000), Buffer.alloc(400_000, i)]) });
  return entries;
}

async function main(): Promise<void> {
  const { tar } = await libs();
  const reg = await startRegistry();
  // After the registry: a registry that fails to start leaves no directory of the benchmark's.
  const work = mkdtempSync(`${TEST_PREFIX}bench-pull-`);
  try {
    const layers = [busyboxLayer()];
    const plainTars: Buffer[] = [];
    for (let k = 0; k < LAYERS; k++) {
      const t = tar.tarArchive(layerEntries(k));
      plainTars.push(t);
      layers.push(layerBlob(t));
    }
    const image = buildImage(layers);
    const compressed = layers.reduce((s, l) => s + l.blob.length, 0);
    for (let r = 0; r < RUNS; r++) await reg.push('bench/app', image, `v${r}`);
    const registries = { [reg.host]: { mirrors: [], caFiles: [reg.ca.caCert], insecure: false } };

    const cold: number[] = [];
    const warm: number[] = [];
    let unpacked = 0;
    for (let r = 0; r < RUNS; r++) {
      const store = ImageStore.open(join(work, `store-${r}`));
      const puller = new Puller(store, registries);
      let t = process.hrtime.bigint();
      const first = await puller.pull(`${reg.host}/bench/app:v${r}`);
      cold.push(Number(process.hrtime.bigint() - t) / 1e6);
      unpacked = first.image.size;
      // Another tag of the same image: every layer is there, only manifest and config travel.
      await store.remove(`${reg.host}/bench/app:v${r}`, new Set([first.image.id]));
      t = process.hrtime.bigint();
      const again = await puller.pull(`${reg.host}/bench/app:v${(r + 1) % RUNS}`);
      warm.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (again.layersFetched !== 0) throw new Error('layers were fetched again');
      rmSync(store.root, { recursive: true, force: true });
    }

    // Extraction alone: the gzip layers from local files, one after the other.
    const rates: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const dir = join(work, `unpack-${r}`);
      let bytes = 0;
      const t = process.hrtime.bigint();
      for (const [i, l] of layers.slice(1).entries()) {
        const path = join(work, `layer-${i}.gz`);
        if (r === 0) writeFileSync(path, l.blob);
        await unpackLayer({ ...fileBlob(path), digest: l.digest, size: l.blob.length, diffId: l.diffId, chainId: l.diffId, dest: join(dir, String(i)) });
        bytes += plainTars[i]!.length;
      }
      rates.push(bytes / 1e6 / (Number(process.hrtime.bigint() - t) / 1e9));
      rmSync(dir, { recursive: true, force: true });
    }

    const mb = (n: number) => (n / 1e6).toFixed(1);
    console.log(`\ncricket pull benchmark: ${LAYERS + 1} layers, ${mb(compressed)} MB compressed, ${mb(unpacked)} MB unpacked, local TLS docker-registry, ${RUNS} runs`);
    console.log('case                         median ms   min ms   max ms');
    for (const [name, s] of [['pull, cold store', cold], ['pull, layers present', warm]] as const) {
      console.log(`${name.padEnd(29)}${median(s).toFixed(1).padStart(9)}${Math.min(...s).toFixed(1).padStart(9)}${Math.max(...s).toFixed(1).padStart(9)}`);
    }
    console.log(`cold pull throughput: ${(compressed / 1e6 / (median(cold) / 1000)).toFixed(1)} MB/s compressed`);
    console.log(`layer extraction (gzip, from disk): ${median(rates).toFixed(1)} MB/s of tar (median of ${RUNS})`);
  } finally {
    await reg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
