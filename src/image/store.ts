import { randomBytes } from 'node:crypto';
import { chmodSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CricketError, failedPrecondition, invalidArgument, isErrno, withContext } from '../errors.js';
import { processAlive } from '../process/alive.js';
import { SingleFlight } from '../store/keyed-queue.js';
import { logger, stopwatch } from '../log/logger.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { parseImageConfig } from './config.js';
import { chainIds, digestHex, isDigest, sha256Digest } from './digest.js';
import { readImportSource, type ImageSource } from './import.js';
import { findInLayers } from './layers.js';
import { DEFAULT_IMAGE_LIMITS, UnpackBudget, type ImageLimits, type ImageTally } from './limits.js';
import { withFileLock } from './lock.js';
import { carriesReference, looksLikeImageId, normalizeTag, parseReference } from './reference.js';
import type { ImageRecord } from './types.js';
import { readLayerMeta, unpackLayer, type LayerMeta } from './unpack.js';
import { StoreUsage, type DiskUsage } from './store-usage.js';

/** Progress of an import, for a CLI's progress line. */
export interface ImportProgress {
  phase: 'archive' | 'manifest' | 'layer' | 'done';
  /** The image being imported (its first name, else its origin). */
  image?: string;
  /** 1-based index of the layer being unpacked, how many the image has, how many are in place. */
  layer?: number;
  layers?: number;
  layersDone?: number;
  /** Bytes read so far in this phase, and the total when known. */
  bytes: number;
  totalBytes?: number;
}

export interface ImportOptions {
  /** Tag the imported image with this reference instead of the names the source gives. */
  name?: string;
  /** Mark the image pinned: never removed (the built-in pause image). */
  pinned?: boolean;
  onProgress?: (p: ImportProgress) => void;
}

interface IndexFile {
  version: 1;
  images: ImageRecord[];
}


const freeze = (r: ImageRecord): ImageRecord => {
  Object.freeze(r.repoTags);
  Object.freeze(r.repoDigests);
  Object.freeze(r.layers);
  Object.freeze(r.config.entrypoint);
  Object.freeze(r.config.cmd);
  Object.freeze(r.config.env);
  Object.freeze(r.config.labels);
  Object.freeze(r.config);
  return Object.freeze(r);
};

/** What identifies one version of the index file. */
interface IndexFileSeen {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}
/** The index not read yet, and read as absent: inode numbers no file has. */
const NOT_READ: IndexFileSeen = { ino: -1, size: 0, mtimeMs: 0, ctimeMs: 0 };
const ABSENT_INDEX: IndexFileSeen = { ino: -2, size: 0, mtimeMs: 0, ctimeMs: 0 };

/** Store roots this process has opened (see ImageStore.open). */
const openedRoots = new Set<string>();

/** The repository part of a name:tag reference. */
const repoOf = (tag: string): string => tag.slice(0, tag.lastIndexOf(':'));

/** Ids of images in use, or a function that tells them at the moment they are needed. */
export type InUseImages = ReadonlySet<string> | (() => ReadonlySet<string>);

/**
 * The image store. Layout under `root`:
 *   index.json              images (ImageRecord[]), replaced atomically
 *   index.lock              exclusive lock of writers (any process)
 *   blobs/sha256/<hex>      config and manifest blobs of stored images
 *   layers/<chain hex>/fs/  an unpacked layer (an overlay lower dir), shared between images
 *   layers/<chain hex>/layer.json   its diff id, size and opaque directories
 *   tmp/                    archives being read; layers/.tmp-* are layers being unpacked
 * Readers (list, resolve) are served from memory; they stat index.json first and reload it
 * when another process (the CLI importing while the daemon runs) has replaced it.
 */
export class ImageStore {
  private images: ImageRecord[] = [];
  /** The index file as last read; NOT_READ before the first read. */
  private indexSeen: IndexFileSeen = NOT_READ;
  private readonly inflight = new SingleFlight<LayerMeta>();
  private readonly usageMeter: StoreUsage;

  private constructor(
    readonly root: string,
    readonly limits: ImageLimits,
  ) {
    this.usageMeter = new StoreUsage(root);
    this.indexPath = join(root, 'index.json');
  }

  /** Made once: list and resolve read it on every call. */
  readonly indexPath: string;

  private get lockPath(): string {
    return join(this.root, 'index.lock');
  }

  private get tmpRoot(): string {
    return join(this.root, 'tmp');
  }

  /**
   * Opens (creating when needed) the store at `root`. Removes temp files of dead processes, and
   * on the first open in this process those carrying our own pid (a restarted daemon may get
   * the same pid, e.g. as PID 1 of a container).
   *
   * Layers hold images' set-id binaries and device nodes with their original owners and modes:
   * reachable by anyone, they would hand a local user root. Every directory of the store is
   * root's alone, and a store made by an older version (0711) is closed on open.
   */
  static open(root: string, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): ImageStore {
    const store = new ImageStore(root, limits);
    for (const d of ['', 'blobs', 'blobs/sha256', 'layers', 'tmp']) {
      const dir = join(root, d);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
    }
    const firstOpen = !openedRoots.has(root);
    openedRoots.add(root);
    for (const [dir, re] of [[join(root, 'layers'), /^\.(?:tmp|trash)-(\d+)-/], [join(root, 'tmp'), /^import-(\d+)-/]] as const) {
      for (const name of readdirSync(dir)) {
        const m = re.exec(name);
        if (!m) continue;
        const pid = Number(m[1]);
        if (pid === process.pid ? firstOpen : !processAlive(pid)) rmSync(join(dir, name), { recursive: true, force: true });
      }
    }
    store.refresh();
    return store;
  }

  /** Reloads index.json if it changed since last read (a stat; a read only when it did). */
  private refresh(): void {
    // Numbers, not a bigint stat made into a string: ListImages reads this on every call. Every
    // write of the index renames a new file into place, so its inode changes with its contents.
    const st = statSync(this.indexPath, { throwIfNoEntry: false });
    const seen = this.indexSeen;
    if (st ? seen.ino === st.ino && seen.size === st.size && seen.mtimeMs === st.mtimeMs && seen.ctimeMs === st.ctimeMs : seen === ABSENT_INDEX) return;
    if (!st) {
      this.images = [];
    } else {
      let doc: IndexFile;
      try {
        doc = JSON.parse(readFileSync(this.indexPath, 'utf8')) as IndexFile;
      } catch (err) {
        throw new CricketError('internal', `image index ${this.indexPath} is unreadable: ${(err as Error).message}`, { cause: err });
      }
      if (doc.version !== 1 || !Array.isArray(doc.images)) throw new CricketError('internal', `image index ${this.indexPath} has an unknown format`);
      this.images = doc.images.map(freeze);
    }
    this.indexSeen = st ? { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs } : ABSENT_INDEX;
  }

  private async writeIndex(images: ImageRecord[]): Promise<void> {
    const doc: IndexFile = { version: 1, images };
    await writeFileAtomic(this.indexPath, `${JSON.stringify(doc, null, 1)}\n`, { mode: 0o600, syncDir: true });
    this.indexSeen = NOT_READ;
    this.refresh();
  }

  /** All images. Cheap: memory, after one stat of the index. */
  list(): ImageRecord[] {
    this.refresh();
    return [...this.images];
  }

  /**
   * Finds an image by reference (`busybox`, `cricket.local/busybox:latest`, `name@sha256:…`),
   * by id (`sha256:<hex>`) or by an unambiguous prefix of the id's hex (3 characters or more).
   */
  resolve(ref: string): ImageRecord | undefined {
    this.refresh();
    const wanted = ref.trim();
    if (isDigest(wanted)) {
      return this.images.find((i) => i.id === wanted) ?? this.images.find((i) => i.repoDigests.some((d) => d.endsWith(`@${wanted}`)));
    }
    try {
      const r = parseReference(wanted);
      const found = this.images.find((i) => carriesReference(i, r));
      if (found) return found;
    } catch {
      // Not a valid reference; it may still be an id prefix.
    }
    if (looksLikeImageId(wanted)) {
      const hex = wanted.replace(/^sha256:/, '');
      const matches = this.images.filter((i) => i.id.startsWith(`sha256:${hex}`));
      if (matches.length === 1) return matches[0];
    }
    return undefined;
  }

  /** The image's unpacked layer directories, absolute, bottom to top (overlay lower dirs). */
  layerDirs(img: ImageRecord): string[] {
    return img.layers.map((chainId) => this.layerFsDir(chainId));
  }

  /** Host path of a file of the image (see findInLayers), e.g. "etc/passwd". */
  findFile(img: ImageRecord, relPath: string): string | undefined {
    return findInLayers(this.layerDirs(img), relPath);
  }

  /** The stored image config blob (the full OCI config, for verbose status). */
  async readConfig(img: ImageRecord): Promise<Buffer> {
    return readFile(join(this.root, 'blobs', 'sha256', digestHex(img.id, 'image id')));
  }

  private layerDir(chainId: string): string {
    return join(this.root, 'layers', digestHex(chainId, 'chain id'));
  }

  private layerFsDir(chainId: string): string {
    return join(this.layerDir(chainId), 'fs');
  }

  /**
   * Imports every image found at `path` (an OCI layout directory, an OCI archive, a `docker save`
   * archive, plain or gzip) and returns their records. Every blob is verified against its digest;
   * layers already in the store are not unpacked again.
   */
  async importPath(path: string, opts: ImportOptions = {}): Promise<ImageRecord[]> {
    const elapsed = stopwatch();
    const name = opts.name === undefined ? undefined : normalizeTag(opts.name);
    const archiveBytes = await stat(path).then((s) => (s.isFile() ? s.size : undefined), () => undefined);
    let read = 0;
    const { images, tmpDir } = await readImportSource(path, this.tmpRoot, (n) => {
      read += n;
      opts.onProgress?.({ phase: 'archive', bytes: read, totalBytes: archiveBytes });
    });
    try {
      if (images.length === 0) throw invalidArgument(`import ${path}: no image for this platform in it`);
      if (name !== undefined && images.length > 1) {
        throw invalidArgument(`import ${path}: --name needs exactly one image, the source has ${images.length}`);
      }
      const records: ImageRecord[] = [];
      for (const source of images) {
        if (name !== undefined) source.names = [name];
        records.push(await this.importImage(source, opts));
      }
      logger.info({ path, images: records.map((r) => r.id), ms: elapsed() }, 'images imported');
      return records;
    } finally {
      if (tmpDir) await rm(tmpDir, { recursive: true, force: true }).catch(() => {});
    }
  }

  /**
   * Imports one image whose blobs are files on disk or streams (what importPath finds, what a
   * registry pull hands over). Verifies config and layers, unpacks missing layers (a few at a
   * time), then stores config and manifest blobs and records the image under the lock. Names it
   * is given move to it from any other image that had them.
   */
  async importImage(source: ImageSource, opts: Pick<ImportOptions, 'pinned' | 'onProgress'> = {}): Promise<ImageRecord> {
    const label = source.names[0] ?? source.origin;
    try {
      const configBytes = source.configBytes ?? await readFile(source.configPath ?? '').catch((err: unknown) => {
        throw invalidArgument(`config blob ${source.configPath} is missing: ${(err as Error).message}`);
      });
      const id = sha256Digest(configBytes);
      if (source.configDigest !== undefined && id !== source.configDigest) {
        throw invalidArgument(`config blob digest mismatch: expected ${source.configDigest}, got ${id}`);
      }
      if (source.configSize !== undefined && configBytes.length !== source.configSize) {
        throw invalidArgument(`config blob is ${configBytes.length} bytes, descriptor says ${source.configSize}`);
      }
      const parsed = parseImageConfig(configBytes, label);
      if (parsed.diffIds.length !== source.layers.length) {
        throw invalidArgument(`config lists ${parsed.diffIds.length} layers, manifest ${source.layers.length}`);
      }
      const chains = chainIds(parsed.diffIds);
      const manifestBytes = source.manifestPath ? await readFile(source.manifestPath) : undefined;
      const blobs = [
        { digest: id, bytes: configBytes },
        ...(source.manifestDigest && manifestBytes ? [{ digest: source.manifestDigest, bytes: manifestBytes }] : []),
        ...(source.blobs ?? []),
      ];
      for (const b of blobs) if (sha256Digest(b.bytes) !== b.digest) throw invalidArgument(`blob ${b.digest} does not match its digest`);

      this.hold(chains);
      const unpackedHere = new Set<string>();
      try {
        // Layers may vanish between unpacking and recording (another process collecting garbage
        // or removing an image that shared them): the check under the lock catches it, and we
        // unpack again.
        for (let attempt = 1; ; attempt++) {
          const missing = chains.map((c) => !existsSync(join(this.layerDir(c), 'layer.json')));
          const sizes = await Promise.all(source.layers.map((l, i) => (!missing[i] ? 0 : l.size ?? (l.path ? stat(l.path).then((s) => s.size, () => 0) : 0))));
          const totalBytes = sizes.reduce((a, b) => a + b, 0);
          let bytes = 0;
          let layersDone = missing.filter((m) => !m).length;
          // Limits per image count what this import unpacks, over all its layers together.
          const tally: ImageTally = { bytes: 0, files: 0 };
          const report = (layer: number) => opts.onProgress?.({ phase: 'layer', image: label, layer, layers: chains.length, layersDone, bytes, totalBytes });
          const metas = await mapLimit(chains, LAYER_CONCURRENCY, async (chainId, i) => {
            const meta = await this.ensureLayer(chainId, parsed.diffIds[i]!, source.layers[i]!, (n) => {
              bytes += n;
              report(i + 1);
            }, `layer ${i + 1}/${chains.length}`, tally);
            if (missing[i]) {
              unpackedHere.add(chainId);
              layersDone++;
              report(i + 1);
            }
            return meta;
          }).catch(async (err: unknown) => {
            // One layer failed (a full disk): the others this import unpacked go too.
            await withFileLock(this.lockPath, () => this.undoImport([], chains.filter((_, i) => missing[i]))).catch(() => undefined);
            throw err;
          });
          const record = await withFileLock(this.lockPath, async () => {
            if (!chains.every((c) => existsSync(join(this.layerDir(c), 'layer.json')))) return undefined;
            const written: string[] = [];
            try {
              for (const b of blobs) if (await this.storeBlob(b.digest, b.bytes)) written.push(b.digest);
              this.refresh();
              const existing = this.images.find((i) => i.id === id);
              const tags = [...new Set([...(existing?.repoTags ?? []), ...source.names])];
              const digests = source.repoDigests ?? (source.manifestDigest ? source.names.map((n) => `${repoOf(n)}@${source.manifestDigest}`) : []);
              const rec: ImageRecord = {
                id,
                repoTags: tags,
                repoDigests: [...new Set([...(existing?.repoDigests ?? []), ...digests])],
                size: metas.reduce((sum, m) => sum + m.size, 0),
                config: parsed.config,
                layers: chains,
                pinned: (existing?.pinned ?? false) || opts.pinned === true,
                blobs: [...new Set([...(existing?.blobs ?? []), ...blobs.map((b) => b.digest).filter((d) => d !== id)])],
              };
              const others = this.images
                .filter((i) => i.id !== id)
                .map((i) => (i.repoTags.some((t) => tags.includes(t)) ? { ...i, repoTags: i.repoTags.filter((t) => !tags.includes(t)) } : i));
              await this.writeIndex([...others, rec]);
              return this.images.find((i) => i.id === id);
            } catch (err) {
              await this.undoImport(written, chains.filter((_, i) => missing[i]));
              throw err;
            }
          });
          if (record) {
            opts.onProgress?.({ phase: 'done', image: label, layers: chains.length, layersDone: chains.length, bytes, totalBytes });
            return record;
          }
          if (attempt >= 3) throw new CricketError('internal', 'layers keep disappearing while the image is recorded');
        }
      } catch (err) {
        // A failed import leaves nothing: layers it unpacked beside the one that failed go too.
        await this.discardLayers(unpackedHere).catch((e: unknown) => logger.warn({ image: label, err: (e as Error).message }, 'layers of a failed import not removed'));
        throw err;
      } finally {
        this.release(chains);
      }
    } catch (err) {
      throw withContext(`image ${label}`, err);
    }
  }

  /** Layers an import of this process is working on: garbage collection leaves them alone. */
  private readonly busyLayers = new Map<string, number>();

  private hold(chains: readonly string[]): void {
    for (const c of chains) this.busyLayers.set(c, (this.busyLayers.get(c) ?? 0) + 1);
  }

  private release(chains: readonly string[]): void {
    for (const c of chains) {
      const n = (this.busyLayers.get(c) ?? 1) - 1;
      if (n <= 0) this.busyLayers.delete(c);
      else this.busyLayers.set(c, n);
    }
  }

  /**
   * Removes layers an import unpacked before it failed, unless an image lists them or another
   * import of this process (besides the failed one, which still holds them) is using them.
   */
  private async discardLayers(chains: ReadonlySet<string>): Promise<void> {
    if (chains.size === 0) return;
    const trash: string[] = [];
    await withFileLock(this.lockPath, async () => {
      this.refresh();
      const listed = new Set(this.images.flatMap((i) => i.layers));
      for (const c of chains) {
        if (listed.has(c) || (this.busyLayers.get(c) ?? 0) > 1) continue;
        const to = join(this.root, 'layers', `.trash-${process.pid}-${randomBytes(6).toString('hex')}`);
        try {
          renameSync(this.layerDir(c), to);
          trash.push(to);
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
        }
      }
    });
    for (const dir of trash) await rm(dir, { recursive: true, force: true });
  }

  /** True when the layer of this chain id is unpacked in the store. */
  hasLayer(chainId: string): boolean {
    return existsSync(join(this.layerDir(chainId), 'layer.json'));
  }

  /** The unpacked layer for a chain id: already there, being unpacked by us, or unpacked now. */
  private async ensureLayer(
    chainId: string,
    diffId: string,
    layer: ImageSource['layers'][number],
    onBytes: (n: number) => void,
    what: string,
    tally: ImageTally,
  ): Promise<LayerMeta> {
    const dir = this.layerDir(chainId);
    if (existsSync(join(dir, 'layer.json'))) return readLayerMeta(dir);
    return this.inflight.run(chainId, () => {
      const open = layer.open ?? (async () => {
        if (!layer.path) throw new CricketError('internal', `${what}: no blob to read`);
        return createReadStream(layer.path);
      });
      const blobLabel = layer.path ? basename(layer.path) : (layer.digest ?? what);
      const budget = new UnpackBudget(this.limits, tally);
      return unpackLayer({ open, label: blobLabel, digest: layer.digest, size: layer.size, diffId, chainId, dest: dir, onBytes, budget }).catch((err: unknown) => {
        throw withContext(what, err);
      });
    });
  }

  private blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', digestHex(digest, 'blob'));
  }

  /** Writes a blob unless it is there already; true when this call wrote it. */
  private async storeBlob(digest: string, data: Buffer): Promise<boolean> {
    const path = this.blobPath(digest);
    if (existsSync(path)) return false;
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, data, { mode: 0o600, syncDir: true });
    return true;
  }

  /**
   * An import that could not be recorded (a full disk) takes back what it added: the blobs it
   * wrote and the layers it unpacked that no recorded image and no other import of this process
   * uses. Runs under the index lock; a failure here is left to garbage collection.
   */
  private async undoImport(blobs: readonly string[], layers: readonly string[]): Promise<void> {
    try {
      this.refresh();
    } catch {
      // An unreadable index: what was read last is the best knowledge there is.
    }
    const named = new Set(this.images.flatMap((i) => [i.id, ...(i.blobs ?? []), ...i.layers]));
    for (const digest of blobs) if (!named.has(digest)) await rm(this.blobPath(digest), { force: true }).catch(() => undefined);
    for (const chainId of layers) {
      if (named.has(chainId) || (this.busyLayers.get(chainId) ?? 0) > 1) continue;
      const dir = this.layerDir(chainId);
      const trash = join(this.root, 'layers', `.trash-${process.pid}-${randomBytes(6).toString('hex')}`);
      // Renamed first so that no reader ever sees a layer half deleted.
      await rename(dir, trash).then(() => rm(trash, { recursive: true, force: true }), () => undefined).catch(() => undefined);
    }
  }

  /**
   * Removes an image (all its names), then collects garbage: layers and blobs no image uses go,
   * except those of `inUse` images (ids of images containers run from: their layers stay until
   * the containers are gone, even though the image is no longer listed). Returns the removed
   * record, or undefined when no image matched (removing twice is not an error). Pinned images
   * are refused with failed-precondition.
   */
  async remove(ref: string, inUse: InUseImages = new Set()): Promise<ImageRecord | undefined> {
    const removed = await withFileLock(this.lockPath, async () => {
      this.refresh();
      const img = this.resolve(ref);
      if (!img) return undefined;
      if (img.pinned) throw failedPrecondition(`image ${img.repoTags[0] ?? img.id} is pinned and cannot be removed`);
      await this.writeIndex(this.images.filter((i) => i.id !== img.id));
      return img;
    });
    if (removed) {
      const gc = await this.collectGarbage(inUse);
      logger.info({ image: removed.id, tags: removed.repoTags, layersRemoved: gc.layers, blobsRemoved: gc.blobs, keptForContainers: (typeof inUse === 'function' ? inUse() : inUse).has(removed.id) }, 'image removed');
    }
    return removed;
  }

  /**
   * Deletes every layer and blob that no listed image, no image of `inUse` (ids of images
   * containers use) and no import under way in this process needs. Layers are renamed away under
   * the lock (nobody sees a half-deleted layer as valid) and deleted after it.
   */
  async collectGarbage(inUseSource: InUseImages = new Set()): Promise<{ layers: number; blobs: number }> {
    const trash: string[] = [];
    let blobCount = 0;
    await withFileLock(this.lockPath, async () => {
      // Read under the lock: a container creation that took its image after the caller asked
      // for the removal still keeps its layers.
      const inUse = typeof inUseSource === 'function' ? inUseSource() : inUseSource;
      this.refresh();
      const keepLayers = new Set(this.images.flatMap((i) => i.layers));
      const keepBlobs = new Set(this.images.flatMap((i) => [i.id, ...(i.blobs ?? []), ...i.repoDigests.map((d) => d.slice(d.indexOf('@') + 1))]));
      for (const id of inUse) {
        if (this.images.some((i) => i.id === id) || !isDigest(id)) continue;
        // A removed image a container still runs from: its config names its layers.
        try {
          const parsed = parseImageConfig(readFileSync(this.blobPath(id)), id);
          for (const c of chainIds(parsed.diffIds)) keepLayers.add(c);
          keepBlobs.add(id);
        } catch {
          // No config left: nothing can be known, and nothing is kept for it.
        }
      }
      for (const c of this.busyLayers.keys()) keepLayers.add(c);
      const layersDir = join(this.root, 'layers');
      for (const name of readdirSync(layersDir)) {
        if (!/^[0-9a-f]{64}$/.test(name) || keepLayers.has(`sha256:${name}`)) continue;
        const to = join(layersDir, `.trash-${process.pid}-${randomBytes(6).toString('hex')}`);
        try {
          renameSync(join(layersDir, name), to);
          trash.push(to);
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
        }
      }
      const blobsDir = join(this.root, 'blobs', 'sha256');
      for (const name of readdirSync(blobsDir)) {
        if (!/^[0-9a-f]{64}$/.test(name) || keepBlobs.has(`sha256:${name}`)) continue;
        await rm(join(blobsDir, name), { force: true });
        blobCount++;
      }
    });
    for (const dir of trash) await rm(dir, { recursive: true, force: true });
    if (trash.length > 0 || blobCount > 0) logger.info({ layers: trash.length, blobs: blobCount }, 'image store garbage collected');
    return { layers: trash.length, blobs: blobCount };
  }

  /** Bytes (allocated blocks) and inodes the store occupies, for ImageFsInfo (store-usage.ts). */
  usage(): DiskUsage | Promise<DiskUsage> {
    return this.usageMeter.measure();
  }
}

const LAYER_CONCURRENCY = 3;

/** Maps with at most `limit` calls running at once; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Array.from({ length: Math.min(limit, items.length) }, worker);
  const settled = await Promise.allSettled(workers);
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results;
}
