import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CricketError, failedPrecondition, invalidArgument, withContext } from '../errors.js';
import { logger, stopwatch } from '../log/logger.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { parseImageConfig } from './config.js';
import { chainIds, digestHex, sha256Digest } from './digest.js';
import { readImportSource, type ImageSource } from './import.js';
import { findInLayers } from './layers.js';
import { withFileLock } from './lock.js';
import { looksLikeImageId, normalizeTag, parseReference } from './reference.js';
import type { ImageRecord } from './types.js';
import { readLayerMeta, unpackLayer, type LayerMeta } from './unpack.js';

/** Progress of an import, for a CLI's progress line. */
export interface ImportProgress {
  phase: 'archive' | 'layer' | 'done';
  /** The image being imported (its first name, else its origin). */
  image?: string;
  /** 1-based index of the layer being unpacked, and how many the image has. */
  layer?: number;
  layers?: number;
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

const isErrno = (err: unknown, code: string): boolean =>
  typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
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

/** Store roots this process has opened (see ImageStore.open). */
const openedRoots = new Set<string>();

/** The repository part of a name:tag reference. */
const repoOf = (tag: string): string => tag.slice(0, tag.lastIndexOf(':'));

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
  private indexKey = '';
  private readonly inflight = new Map<string, Promise<LayerMeta>>();

  private constructor(readonly root: string) {}

  get indexPath(): string {
    return join(this.root, 'index.json');
  }

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
   */
  static open(root: string): ImageStore {
    const store = new ImageStore(root);
    for (const d of ['blobs/sha256', 'layers', 'tmp']) mkdirSync(join(root, d), { recursive: true, mode: 0o711 });
    const firstOpen = !openedRoots.has(root);
    openedRoots.add(root);
    for (const [dir, re] of [[join(root, 'layers'), /^\.(?:tmp|trash)-(\d+)-/], [join(root, 'tmp'), /^import-(\d+)-/]] as const) {
      for (const name of readdirSync(dir)) {
        const m = re.exec(name);
        if (!m) continue;
        const pid = Number(m[1]);
        if (pid === process.pid ? firstOpen : !pidAlive(pid)) rmSync(join(dir, name), { recursive: true, force: true });
      }
    }
    store.refresh();
    return store;
  }

  /** Reloads index.json if it changed since last read (a stat; a read only when it did). */
  private refresh(): void {
    let key: string;
    try {
      const st = statSync(this.indexPath, { bigint: true });
      key = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      key = 'absent';
    }
    if (key === this.indexKey) return;
    if (key === 'absent') {
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
    this.indexKey = key;
  }

  private async writeIndex(images: ImageRecord[]): Promise<void> {
    const doc: IndexFile = { version: 1, images };
    await writeFileAtomic(this.indexPath, `${JSON.stringify(doc, null, 1)}\n`, { mode: 0o644, syncDir: true });
    this.indexKey = '';
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
    if (/^sha256:[0-9a-f]{64}$/.test(wanted)) {
      return this.images.find((i) => i.id === wanted) ?? this.images.find((i) => i.repoDigests.some((d) => d.endsWith(`@${wanted}`)));
    }
    try {
      const r = parseReference(wanted);
      const found = r.digest
        ? this.images.find((i) => i.repoDigests.includes(`${r.name}@${r.digest}`))
        : this.images.find((i) => i.repoTags.includes(`${r.name}:${r.tag}`));
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
   * Imports one image whose blobs are files on disk (what importPath finds; a registry client
   * can hand over downloaded blobs the same way). Verifies config and layers, unpacks missing
   * layers, stores config and manifest blobs, then records the image under the lock. Names it
   * is given move to it from any other image that had them.
   */
  async importImage(source: ImageSource, opts: Pick<ImportOptions, 'pinned' | 'onProgress'> = {}): Promise<ImageRecord> {
    const label = source.names[0] ?? source.origin;
    try {
      const configBytes = await readFile(source.configPath).catch((err: unknown) => {
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
      const totalBytes = await Promise.all(source.layers.map((l) => stat(l.path).then((s) => s.size, () => 0))).then((s) => s.reduce((a, b) => a + b, 0));

      // Layers may vanish between unpacking and recording (another process removing an image
      // that shared them): the check under the lock catches it, and we unpack again.
      for (let attempt = 1; ; attempt++) {
        const metas: LayerMeta[] = [];
        let bytes = 0;
        for (let i = 0; i < chains.length; i++) {
          const layer = source.layers[i]!;
          metas.push(await this.ensureLayer(chains[i]!, parsed.diffIds[i]!, layer, (n) => {
            bytes += n;
            opts.onProgress?.({ phase: 'layer', image: label, layer: i + 1, layers: chains.length, bytes, totalBytes });
          }, `layer ${i + 1}/${chains.length}`));
        }
        await this.storeBlob(id, configBytes);
        if (source.manifestDigest && source.manifestPath) {
          await this.storeBlob(source.manifestDigest, await readFile(source.manifestPath));
        }
        const record = await withFileLock(this.lockPath, async () => {
          if (!chains.every((c) => existsSync(join(this.layerDir(c), 'layer.json')))) return undefined;
          this.refresh();
          const existing = this.images.find((i) => i.id === id);
          const tags = [...new Set([...(existing?.repoTags ?? []), ...source.names])];
          const digests = source.manifestDigest ? source.names.map((n) => `${repoOf(n)}@${source.manifestDigest}`) : [];
          const rec: ImageRecord = {
            id,
            repoTags: tags,
            repoDigests: [...new Set([...(existing?.repoDigests ?? []), ...digests])],
            size: metas.reduce((sum, m) => sum + m.size, 0),
            config: parsed.config,
            layers: chains,
            pinned: (existing?.pinned ?? false) || opts.pinned === true,
          };
          const others = this.images
            .filter((i) => i.id !== id)
            .map((i) => (i.repoTags.some((t) => tags.includes(t)) ? { ...i, repoTags: i.repoTags.filter((t) => !tags.includes(t)) } : i));
          await this.writeIndex([...others, rec]);
          return this.images.find((i) => i.id === id);
        });
        if (record) {
          opts.onProgress?.({ phase: 'done', image: label, layers: chains.length, bytes, totalBytes });
          return record;
        }
        if (attempt >= 3) throw new CricketError('internal', 'layers keep disappearing while the image is recorded');
      }
    } catch (err) {
      throw withContext(`image ${label}`, err);
    }
  }

  /** The unpacked layer for a chain id: already there, being unpacked by us, or unpacked now. */
  private async ensureLayer(chainId: string, diffId: string, layer: ImageSource['layers'][number], onBytes: (n: number) => void, what: string): Promise<LayerMeta> {
    const dir = this.layerDir(chainId);
    if (existsSync(join(dir, 'layer.json'))) return readLayerMeta(dir);
    let pending = this.inflight.get(chainId);
    if (!pending) {
      pending = unpackLayer({ blobPath: layer.path, digest: layer.digest, size: layer.size, diffId, chainId, dest: dir, onBytes })
        .catch((err: unknown) => {
          throw withContext(what, err);
        })
        .finally(() => this.inflight.delete(chainId));
      this.inflight.set(chainId, pending);
    }
    return pending;
  }

  private async storeBlob(digest: string, data: Buffer): Promise<void> {
    const path = join(this.root, 'blobs', 'sha256', digestHex(digest, 'blob'));
    if (existsSync(path)) return;
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
    await writeFileAtomic(path, data, { mode: 0o644, syncDir: true });
  }

  /**
   * Removes an image (all its names). Layers no other image uses are deleted; returns the removed
   * record, or undefined when no image matched (removing twice is not an error). Pinned images
   * are refused with failed-precondition.
   */
  async remove(ref: string): Promise<ImageRecord | undefined> {
    const trash: string[] = [];
    const removed = await withFileLock(this.lockPath, async () => {
      this.refresh();
      const img = this.resolve(ref);
      if (!img) return undefined;
      if (img.pinned) throw failedPrecondition(`image ${img.repoTags[0] ?? img.id} is pinned and cannot be removed`);
      const rest = this.images.filter((i) => i.id !== img.id);
      await this.writeIndex(rest);
      const used = new Set(rest.flatMap((i) => i.layers));
      for (const chainId of img.layers) {
        if (used.has(chainId)) continue;
        // Renamed away first (under the lock), so no one sees a half-deleted layer as valid.
        const to = join(this.root, 'layers', `.trash-${process.pid}-${randomBytes(6).toString('hex')}`);
        try {
          renameSync(this.layerDir(chainId), to);
          trash.push(to);
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
        }
      }
      const blobsInUse = new Set(rest.flatMap((i) => [i.id, ...i.repoDigests.map((d) => d.slice(d.indexOf('@') + 1))]));
      for (const digest of new Set([img.id, ...img.repoDigests.map((d) => d.slice(d.indexOf('@') + 1))])) {
        if (!blobsInUse.has(digest)) await rm(join(this.root, 'blobs', 'sha256', digestHex(digest, 'blob')), { force: true });
      }
      return img;
    });
    for (const dir of trash) await rm(dir, { recursive: true, force: true });
    return removed;
  }
}
