import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { link, lstat, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { invalidArgument, notFound, withContext } from '../errors.js';
import { digestHex, HashTap, sha256Digest } from './digest.js';
import { normalizeTag } from './reference.js';
import { TarSink, type ReadEntry } from './tar-read.js';
import { entryComponents } from './unpack.js';

/** One layer of an image to import: a blob (a file on disk, or a stream) and what it must hash to. */
export interface LayerSource {
  /** The blob as a file; or `open` gives it as a stream (a registry download). */
  path?: string;
  open?: () => Promise<Readable>;
  /** Digest of the file as stored (OCI descriptors give one; `docker save` usually does not). */
  digest?: string;
  size?: number;
  mediaType?: string;
}

/** One image found in an import source, before anything is verified or unpacked. */
export interface ImageSource {
  /** Where it was found, for messages: "<path> manifest sha256:…". */
  origin: string;
  /** The config blob as a file, or its bytes. */
  configPath?: string;
  configBytes?: Buffer;
  /** Digest the config blob must have when one is known from a descriptor or a file name. */
  configDigest?: string;
  configSize?: number;
  /** Digest of the image manifest, when the source has one (repoDigests are made from it). */
  manifestDigest?: string;
  manifestPath?: string;
  /** Normalised name:tag references the source gives the image. */
  names: string[];
  /** name@digest references; by default each name's repository at manifestDigest. */
  repoDigests?: string[];
  /** Further blobs to keep with the image (a pulled manifest and its index). */
  blobs?: Array<{ digest: string; bytes: Buffer }>;
  layers: LayerSource[];
}

const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
};

const MAX_JSON = 16 * 1024 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false);
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) throw invalidArgument(`${what}: ${path} is missing`);
  if (st.size > MAX_JSON) throw invalidArgument(`${what}: ${path} is too large for JSON (${st.size} bytes)`);
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw invalidArgument(`${what}: ${path} is not JSON: ${(err as Error).message}`);
  }
}

/** Reads a small blob of an OCI layout and checks it against its descriptor. */
async function readVerifiedBlob(layout: string, digest: string, size: number | undefined, what: string): Promise<Buffer> {
  const path = join(layout, 'blobs', 'sha256', digestHex(digest, what));
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) throw invalidArgument(`${what}: blob ${digest} is missing from the layout`);
  if (st.size > MAX_JSON) throw invalidArgument(`${what}: blob ${digest} is too large (${st.size} bytes)`);
  const buf = await readFile(path);
  const actual = sha256Digest(buf);
  if (actual !== digest) throw invalidArgument(`${what}: blob digest mismatch: expected ${digest}, got ${actual}`);
  if (size !== undefined && buf.length !== size) throw invalidArgument(`${what}: blob ${digest} is ${buf.length} bytes, descriptor says ${size}`);
  return buf;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size?: number;
  annotations: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

function descriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v) || typeof v.digest !== 'string') throw invalidArgument(`${what}: descriptor without digest`);
  digestHex(v.digest, what);
  const annotations: Record<string, string> = {};
  if (isObject(v.annotations)) for (const [k, a] of Object.entries(v.annotations)) if (typeof a === 'string') annotations[k] = a;
  return {
    mediaType: typeof v.mediaType === 'string' ? v.mediaType : '',
    digest: v.digest,
    size: typeof v.size === 'number' ? v.size : undefined,
    annotations,
    platform: isObject(v.platform) ? (v.platform as Descriptor['platform']) : undefined,
  };
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
export const hostPlatform = { os: 'linux', architecture: GOARCH[process.arch] ?? process.arch };

const platformMatches = (p: Descriptor['platform']): boolean =>
  p === undefined || ((p.os ?? 'linux') === hostPlatform.os && (p.architecture ?? hostPlatform.architecture) === hostPlatform.architecture);

/** The name an index entry gives its image: containerd's full name, or a full ref in ref.name. */
function annotatedName(d: Descriptor): string | undefined {
  const candidates = [d.annotations['io.containerd.image.name'], d.annotations['org.opencontainers.image.ref.name']];
  for (const c of candidates) {
    if (c === undefined || !/[/:]/.test(c)) continue; // a bare tag like "latest" names no repository
    try {
      return normalizeTag(c);
    } catch {
      continue;
    }
  }
  return undefined;
}

/** Images of an OCI image layout directory (index.json, possibly nested indexes). */
export async function readOciLayout(dir: string, label = dir): Promise<ImageSource[]> {
  const layoutDoc = await readJsonFile(join(dir, 'oci-layout'), label);
  if (!isObject(layoutDoc) || typeof layoutDoc.imageLayoutVersion !== 'string') {
    throw invalidArgument(`${label}: oci-layout has no imageLayoutVersion`);
  }
  const index = await readJsonFile(join(dir, 'index.json'), label);
  if (!isObject(index) || !Array.isArray(index.manifests)) throw invalidArgument(`${label}: index.json has no manifests`);

  const images: ImageSource[] = [];
  const visit = async (d: Descriptor, name: string | undefined, depth: number): Promise<void> => {
    const what = `${label} ${d.digest}`;
    if (depth > 4) throw invalidArgument(`${what}: indexes nested too deep`);
    if (d.mediaType === MEDIA.ociIndex || d.mediaType === MEDIA.dockerList) {
      const sub = JSON.parse((await readVerifiedBlob(dir, d.digest, d.size, what)).toString('utf8')) as unknown;
      if (!isObject(sub) || !Array.isArray(sub.manifests)) throw invalidArgument(`${what}: index without manifests`);
      const children = sub.manifests.map((m) => descriptor(m, what)).filter((c) => platformMatches(c.platform));
      // A multi-platform index: the one manifest for this machine.
      const pick = children.find((c) => c.mediaType === MEDIA.ociManifest || c.mediaType === MEDIA.dockerManifest) ?? children[0];
      if (!pick) throw notFound(`${what}: no image for ${hostPlatform.os}/${hostPlatform.architecture}`);
      await visit(pick, name, depth + 1);
      return;
    }
    if (d.mediaType !== MEDIA.ociManifest && d.mediaType !== MEDIA.dockerManifest && d.mediaType !== '') {
      return; // signatures, attestations and other artifacts are not images
    }
    const manifestBuf = await readVerifiedBlob(dir, d.digest, d.size, what);
    const manifest = JSON.parse(manifestBuf.toString('utf8')) as unknown;
    if (!isObject(manifest) || !Array.isArray(manifest.layers)) throw invalidArgument(`${what}: manifest has no layers`);
    const config = descriptor(manifest.config, `${what} config`);
    const existing = images.find((i) => i.manifestDigest === d.digest);
    if (existing) {
      if (name && !existing.names.includes(name)) existing.names.push(name);
      return;
    }
    images.push({
      origin: what,
      configPath: join(dir, 'blobs', 'sha256', digestHex(config.digest, what)),
      configDigest: config.digest,
      configSize: config.size,
      manifestDigest: d.digest,
      manifestPath: join(dir, 'blobs', 'sha256', digestHex(d.digest, what)),
      names: name ? [name] : [],
      layers: manifest.layers.map((l, i) => {
        const ld = descriptor(l, `${what} layer ${i + 1}`);
        return { path: join(dir, 'blobs', 'sha256', digestHex(ld.digest, what)), digest: ld.digest, size: ld.size, mediaType: ld.mediaType };
      }),
    });
  };
  for (const m of index.manifests) {
    const d = descriptor(m, `${label} index.json`);
    if (!platformMatches(d.platform)) continue;
    await visit(d, annotatedName(d), 0);
  }
  return images;
}

/** Images of an unpacked `docker save` archive (manifest.json with Config, RepoTags, Layers). */
export async function readDockerArchive(dir: string, label = dir): Promise<ImageSource[]> {
  const doc = await readJsonFile(join(dir, 'manifest.json'), label);
  if (!Array.isArray(doc)) throw invalidArgument(`${label}: manifest.json is not a list`);
  const inside = (rel: unknown, what: string): string => {
    if (typeof rel !== 'string') throw invalidArgument(`${what}: path is not a string`);
    return join(dir, ...entryComponents(rel));
  };
  // File names that are digests (<hex>.json, blobs/sha256/<hex>) are checked as digests.
  const digestFromName = (rel: string): string | undefined => {
    const m = /(?:^|\/)([0-9a-f]{64})(?:\.json)?$/.exec(rel);
    return m ? `sha256:${m[1]}` : undefined;
  };
  return doc.map((entry, i) => {
    const what = `${label} manifest.json[${i}]`;
    if (!isObject(entry) || typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) {
      throw invalidArgument(`${what}: needs Config and Layers`);
    }
    const tags = Array.isArray(entry.RepoTags) ? entry.RepoTags : [];
    const names = tags.map((t) => {
      if (typeof t !== 'string') throw invalidArgument(`${what}: RepoTags holds a non-string`);
      return normalizeTag(t);
    });
    const layers = entry.Layers.map((l, k) => {
      const path = inside(l, `${what} layer ${k + 1}`);
      const named = /^blobs\/sha256\/[0-9a-f]{64}$/.test(String(l)) ? digestFromName(String(l)) : undefined;
      return { path, digest: named };
    });
    return {
      origin: what,
      configPath: inside(entry.Config, `${what} config`),
      configDigest: digestFromName(entry.Config),
      names,
      layers,
    };
  });
}

/** Images of a directory: an OCI layout when it has oci-layout, else a `docker save` tree. */
export async function readImageDir(dir: string, label = dir): Promise<ImageSource[]> {
  if (await exists(join(dir, 'oci-layout'))) return readOciLayout(dir, label);
  if (await exists(join(dir, 'manifest.json'))) return readDockerArchive(dir, label);
  throw invalidArgument(`${label}: neither an OCI image layout (oci-layout, index.json) nor a docker save archive (manifest.json)`);
}

/**
 * Unpacks an archive (a tar of an OCI layout or a `docker save` archive, plain or gzip) into
 * `dest`, keeping regular files and directories only. Symlinks and hard links inside it (docker
 * save links duplicate layers) become hard links to their target when that target is a regular
 * file inside the archive; links leading out of it are dropped, so reading the unpacked tree
 * never reads a host file.
 */
export async function unpackArchive(file: string, dest: string, onBytes?: (n: number) => void): Promise<void> {
  await mkdir(dest, { recursive: true });
  const links: Array<{ from: string[]; to: string[] }> = [];
  const dirs = new Set<string>(['']);
  const ensureDir = async (parts: string[]) => {
    let rel = '';
    for (const p of parts) {
      rel = rel ? `${rel}/${p}` : p;
      if (dirs.has(rel)) continue;
      await mkdir(join(dest, rel)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      const st = await lstat(join(dest, rel));
      if (!st.isDirectory()) throw invalidArgument(`archive entry "${rel}" is both a file and a directory`);
      dirs.add(rel);
    }
  };
  const onEntry = async (e: ReadEntry) => {
    const parts = entryComponents(e.path);
    if (parts.length === 0) return;
    switch (e.type) {
      case 'Directory':
        await ensureDir(parts);
        return;
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        await ensureDir(parts.slice(0, -1));
        const abs = join(dest, ...parts);
        await rm(abs, { force: true, recursive: true });
        const fh = await open(abs, 'wx', 0o644);
        try {
          for await (const chunk of e as AsyncIterable<Buffer>) await fh.write(chunk);
        } finally {
          await fh.close();
        }
        return;
      }
      case 'SymbolicLink':
      case 'Link': {
        const target = e.linkpath ?? '';
        const base = e.type === 'Link' || target.startsWith('/') ? [] : parts.slice(0, -1);
        const to: string[] = [];
        for (const p of [...base, ...target.split('/')]) {
          if (p === '' || p === '.') continue;
          if (p === '..') {
            if (to.length === 0) return; // leads out of the archive: ignored
            to.pop();
          } else to.push(p);
        }
        if (e.type === 'SymbolicLink' && target.startsWith('/')) return; // host path: ignored
        links.push({ from: parts, to });
        return;
      }
      default:
        return; // devices and the like have no place in an image archive
    }
  };
  const probe = await open(file, 'r');
  const head = Buffer.alloc(2);
  try {
    await probe.read(head, 0, 2, 0);
  } finally {
    await probe.close();
  }
  const sink = new TarSink(onEntry);
  const counted = new HashTap(onBytes);
  try {
    if (head[0] === 0x1f && head[1] === 0x8b) await pipeline(createReadStream(file), counted, createGunzip(), sink.consume);
    else await pipeline(createReadStream(file), counted, sink.consume);
  } catch (err) {
    throw sink.reason(err);
  }

  // Links may point at links: resolve until nothing changes.
  let pending = links;
  while (pending.length > 0) {
    const next: typeof links = [];
    for (const l of pending) {
      const target = join(dest, ...l.to);
      const st = await lstat(target).catch(() => undefined);
      if (st?.isFile()) {
        await ensureDir(l.from.slice(0, -1));
        const abs = join(dest, ...l.from);
        await rm(abs, { force: true, recursive: true });
        await link(target, abs);
      } else next.push(l);
    }
    if (next.length === pending.length) break; // the rest point at nothing we have
    pending = next;
  }
}

/** Temp directory for an archive being imported, under the store's tmp dir. */
export function archiveTempDir(tmpRoot: string): string {
  return join(tmpRoot, `import-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/**
 * Finds the images in `path`: an OCI layout directory, an unpacked docker save directory, or an
 * archive of either (unpacked into `tmpRoot` first; the caller removes the returned tmpDir).
 */
export async function readImportSource(path: string, tmpRoot: string, onBytes?: (n: number) => void): Promise<{ images: ImageSource[]; tmpDir?: string }> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw notFound(`import: ${path} does not exist`);
  if (st.isDirectory()) return { images: await readImageDir(path) };
  if (!st.isFile()) throw invalidArgument(`import: ${path} is neither a file nor a directory`);
  const tmpDir = archiveTempDir(tmpRoot);
  try {
    await unpackArchive(path, tmpDir, onBytes);
    return { images: await readImageDir(tmpDir, path), tmpDir };
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true }).catch(() => {});
    throw withContext(`import ${path}`, err);
  }
}
