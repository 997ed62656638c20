#!/usr/bin/env node
// Builds cricket's images offline into build/images/: for each image an OCI layout directory
// (<name>/), an OCI archive (<name>.oci.tar) and a `docker save` archive (<name>.docker.tar).
// Idempotent: an image whose inputs (binaries, .deb, libraries, definitions) are unchanged is
// skipped. Outputs are byte-identical across runs on the same inputs.
//
//   node scripts/build-images.mjs [--only NAME] [--force]
//   node scripts/build-images.mjs --oci-archive NAME OUT
//   node scripts/build-images.mjs --docker-archive NAME OUT [--gzip-layers]
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dockerArchive, ociArchive, sha256, writeFileAtomic, writeLayout } from '../images/lib/oci.mjs';
import * as pause from '../images/pause.mjs';
import * as busybox from '../images/busybox.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(repoRoot, 'build');
const outDir = join(buildDir, 'images');
const definitions = [pause, busybox];
const log = (msg) => process.stderr.write(`[images] ${msg}\n`);

function usage(msg) {
  if (msg) process.stderr.write(`build-images: ${msg}\n`);
  process.stderr.write('usage: build-images.mjs [--only NAME] [--force] | --oci-archive NAME OUT | --docker-archive NAME OUT [--gzip-layers]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { only: undefined, force: false, archive: undefined, gzipLayers: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') opts.only = argv[++i] ?? usage('--only needs a name');
    else if (a === '--force') opts.force = true;
    else if (a === '--gzip-layers') opts.gzipLayers = true;
    else if (a === '--oci-archive' || a === '--docker-archive') {
      const name = argv[++i];
      const out = argv[++i];
      if (!name || !out) usage(`${a} needs NAME and OUT`);
      opts.archive = { kind: a.slice(2, -'-archive'.length), name, out: resolve(out) };
    } else usage(`unknown argument ${a}`);
  }
  return opts;
}

/** Sources of the build itself: a change to a definition or a writer rebuilds everything. */
function sourceInputs() {
  const files = [fileURLToPath(import.meta.url)];
  const walk = (dir) => {
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(join(repoRoot, 'images'));
  return files.sort().flatMap((f) => [f.slice(repoRoot.length), readFileSync(f)]);
}

function fingerprint(parts) {
  const h = [];
  for (const p of parts) h.push(sha256(Buffer.isBuffer(p) ? p : Buffer.from(String(p))));
  return sha256(Buffer.from(h.join('\n')));
}

const outputs = (name) => ({
  layout: join(outDir, name),
  oci: join(outDir, `${name}.oci.tar`),
  docker: join(outDir, `${name}.docker.tar`),
  stamp: join(outDir, `.${name}.stamp`),
});

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const ctx = { repoRoot, buildDir, log };
  const wanted = opts.archive?.name ?? opts.only;
  const defs = wanted ? definitions.filter((d) => d.name === wanted) : definitions;
  if (defs.length === 0) usage(`no image named ${wanted} (have: ${definitions.map((d) => d.name).join(', ')})`);

  if (opts.archive) {
    const image = defs[0].prepare(ctx).build();
    const buf = opts.archive.kind === 'oci' ? ociArchive(image) : dockerArchive(image, { gzipLayers: opts.gzipLayers });
    writeFileAtomic(opts.archive.out, buf);
    log(`${defs[0].name}: wrote ${opts.archive.kind} archive ${opts.archive.out}`);
    return;
  }

  const sources = sourceInputs();
  for (const def of defs) {
    const prepared = def.prepare(ctx);
    const out = outputs(def.name);
    const stamp = fingerprint([...sources, ...prepared.inputs]);
    const current = existsSync(out.stamp) ? readFileSync(out.stamp, 'utf8').trim() : '';
    const complete = existsSync(join(out.layout, 'index.json')) && existsSync(out.oci) && existsSync(out.docker);
    if (!opts.force && complete && current === stamp) {
      log(`${def.name}: up to date (${def.ref})`);
      continue;
    }
    const image = prepared.build();
    writeLayout(out.layout, image);
    writeFileAtomic(out.oci, ociArchive(image));
    writeFileAtomic(out.docker, dockerArchive(image));
    // The stamp goes last: an interrupted build is redone next time.
    writeFileAtomic(out.stamp, `${stamp}\n`);
    log(`${def.name}: built ${def.ref} -> ${out.layout} (image ${image.configDesc.digest})`);
  }
}

main();
