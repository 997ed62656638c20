// OCI image layout and archive writers for the image builds. Everything is derived from the
// entries and the config given, with fixed timestamps and sorted keys where order is free, so
// builds are byte-identical; files are written to a temp name and renamed into place.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tarArchive } from './tar.mjs';

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
};

/** 2024-01-01T00:00:00Z: the time every built file and config claims. */
export const BUILD_EPOCH = 1704067200;
export const BUILD_TIME = new Date(BUILD_EPOCH * 1000).toISOString().replace('.000Z', 'Z');

export const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

const json = (value) => Buffer.from(JSON.stringify(value));

/** One gzip layer from tar entries; gzip with no name and mtime 0, so bytes depend on content only. */
export function makeLayer(entries) {
  const tar = tarArchive(entries.map((e) => ({ mtime: BUILD_EPOCH, ...e })));
  const gz = gzipSync(tar, { level: 9 });
  return { tar, gz, diffId: `sha256:${sha256(tar)}`, digest: `sha256:${sha256(gz)}` };
}

/**
 * The blobs of a one-platform image: config (given as the image's "config" section plus
 * history text) and manifest. `ref` is the full reference, e.g. cricket.local/pause:built-in.
 */
export function makeImage({ ref, config, layers, history }) {
  const configBlob = json({
    created: BUILD_TIME,
    architecture: 'amd64',
    os: 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: BUILD_TIME, created_by: history?.[i] ?? 'cricket images build' })),
  });
  const configDesc = { mediaType: MEDIA.config, digest: `sha256:${sha256(configBlob)}`, size: configBlob.length };
  const manifestBlob = json({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: configDesc,
    layers: layers.map((l) => ({ mediaType: MEDIA.layerGzip, digest: l.digest, size: l.gz.length })),
  });
  const manifestDesc = { mediaType: MEDIA.manifest, digest: `sha256:${sha256(manifestBlob)}`, size: manifestBlob.length };
  const tag = ref.slice(ref.lastIndexOf(':') + 1);
  const index = json({
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [{
      ...manifestDesc,
      // containerd's convention: the full name, and the tag alone in the OCI annotation.
      annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': tag },
      platform: { architecture: 'amd64', os: 'linux' },
    }],
  });
  return { ref, layers, configBlob, configDesc, manifestBlob, manifestDesc, index };
}

/** All files of the OCI layout, as [relative path, bytes], sorted by path. */
export function layoutFiles(image) {
  const blobs = new Map();
  const add = (buf) => blobs.set(sha256(buf), buf);
  add(image.configBlob);
  add(image.manifestBlob);
  for (const l of image.layers) add(l.gz);
  const files = [
    ['index.json', image.index],
    ['oci-layout', json({ imageLayoutVersion: '1.0.0' })],
    ...[...blobs.entries()].map(([hex, buf]) => [`blobs/sha256/${hex}`, buf]),
  ];
  return files.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Writes the OCI layout directory, replacing any previous one only once the new one is whole. */
export function writeLayout(dir, image) {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const [rel, buf] of layoutFiles(image)) {
    mkdirSync(dirname(join(tmp, rel)), { recursive: true });
    writeFileSync(join(tmp, rel), buf);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

const dirEntries = (paths) => {
  const dirs = new Set();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/') + '/');
  }
  return [...dirs].sort().map((path) => ({ path, type: 'dir', mode: 0o755, mtime: BUILD_EPOCH }));
};

/** A tar of [path, bytes] files (sorted by the caller), with their parent directories first. */
export function tarOfFiles(files) {
  return tarArchive([
    ...dirEntries(files.map(([p]) => p)),
    ...files.map(([path, data]) => ({ path, data, mode: 0o644, mtime: BUILD_EPOCH })),
  ]);
}

/** An OCI archive: a tar of the layout (what `skopeo copy oci-archive:` and `ctr import` read). */
export const ociArchive = (image) => tarOfFiles(layoutFiles(image));

/** A `docker save` archive: manifest.json, <config hex>.json, <diff id hex>/layer.tar (plain tar). */
export function dockerArchive(image, { gzipLayers = false } = {}) {
  const configName = `${image.configDesc.digest.slice('sha256:'.length)}.json`;
  const layerNames = image.layers.map((l) => `${l.diffId.slice('sha256:'.length)}/layer.tar`);
  const colon = image.ref.lastIndexOf(':');
  const repo = image.ref.slice(0, colon);
  const tag = image.ref.slice(colon + 1);
  const files = [
    ['manifest.json', json([{ Config: configName, RepoTags: [image.ref], Layers: layerNames }])],
    ['repositories', json({ [repo]: { [tag]: layerNames[layerNames.length - 1].split('/')[0] } })],
    [configName, image.configBlob],
  ];
  image.layers.forEach((l, i) => {
    const hex = layerNames[i].split('/')[0];
    files.push([layerNames[i], gzipLayers ? l.gz : l.tar], [`${hex}/VERSION`, Buffer.from('1.0')]);
  });
  files.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return tarOfFiles(files);
}

/** Writes a file atomically (temp + rename), creating its directory. */
export function writeFileAtomic(path, buf) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, buf);
  renameSync(tmp, path);
}
