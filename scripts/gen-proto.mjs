#!/usr/bin/env node
// Generate TypeScript (ts-proto, grpc-js services) from proto/ into src/gen/ (or OUTDIR).
//
//   node scripts/gen-proto.mjs           -> writes src/gen/ (cleared first, so removed protos leave nothing behind)
//   node scripts/gen-proto.mjs OUTDIR    -> writes OUTDIR (created if missing; used by the staleness test)
//
// Output depends only on the .proto files and the versions of protoc and ts-proto: protoc is given
// paths relative to proto/, so no absolute path of the checkout ends up in the generated code.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const protoDir = path.join(root, 'proto');
const defaultOut = path.join(root, 'src', 'gen');
const protoc = process.env.PROTOC ?? '/usr/bin/protoc';
const plugin = path.join(root, 'node_modules', '.bin', 'protoc-gen-ts_proto');

const TS_PROTO_OPTIONS = [
  'outputServices=grpc-js',
  'esModuleInterop=true',
  'importSuffix=.js',
  'forceLong=bigint',
  'env=node',
  'useExactTypes=false',
];

function listProtos(dir, rel = '') {
  const out = [];
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(path.join(dir, r)).isDirectory()) out.push(...listProtos(dir, r));
    else if (name.endsWith('.proto')) out.push(r);
  }
  return out;
}

function main() {
  const outDir = process.argv[2] ? path.resolve(process.argv[2]) : defaultOut;
  if (!existsSync(plugin)) throw new Error(`ts-proto plugin not found at ${plugin} (run npm ci)`);
  const protos = listProtos(protoDir);
  if (protos.length === 0) throw new Error(`no .proto files under ${protoDir}`);
  if (outDir === defaultOut) rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  const args = [
    `--plugin=protoc-gen-ts_proto=${plugin}`,
    `--ts_proto_out=${outDir}`,
    `--ts_proto_opt=${TS_PROTO_OPTIONS.join(',')}`,
    `--proto_path=.`,
    ...protos,
  ];
  const r = spawnSync(protoc, args, { cwd: protoDir, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run ${protoc}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`protoc failed (exit ${r.status}):\n${r.stderr}`);
  if (r.stderr) process.stderr.write(r.stderr);
  process.stdout.write(`generated ${protos.join(', ')} -> ${path.relative(process.cwd(), outDir) || '.'}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`gen-proto: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
