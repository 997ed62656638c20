import { lstat, mkdir, readFile, rm } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { extract as tarExtract, list as tarList, type ReadEntry } from 'tar';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { ARCHIVE, type ConfigDump } from './checkpoint-archive.js';
import { criuSupport } from './criu-support.js';

const MAX_ENTRIES = 200_000;
const MAX_DUMP_BYTES = 1 << 20;

export interface CheckpointArchive {
  path: string;
  config: ConfigDump;
  /** The checkpointed container's OCI spec (its process: args, env, cwd). */
  spec: { process?: { args?: string[]; env?: string[]; cwd?: string } };
}

/**
 * The checkpoint archive a CreateContainer image field names, as CRI-O and containerd take it:
 * an absolute path to a regular file. Anything else is an image reference (undefined). A file
 * that is no checkpoint archive is INVALID_ARGUMENT.
 */
export async function checkpointArchive(image: string): Promise<CheckpointArchive | undefined> {
  if (!isAbsolute(image) || image.includes('\0')) return undefined;
  const st = await lstat(image).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  const wanted = new Set<string>([ARCHIVE.configDump, ARCHIVE.specDump]);
  const found = new Map<string, string>();
  let entries = 0;
  let images = false;
  let tooLarge = '';
  try {
    await tarList({
      file: image,
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        if (++entries > MAX_ENTRIES) throw new Error(`more than ${MAX_ENTRIES} entries`);
        const name = entry.path.replace(/^\.\//, '');
        if (name.startsWith(`${ARCHIVE.checkpointDir}/`) && name.endsWith('.img')) images = true;
        if (!wanted.has(name) || entry.type !== 'File') {
          entry.resume();
          return;
        }
        if (entry.size > MAX_DUMP_BYTES) {
          tooLarge = name;
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => found.set(name, Buffer.concat(chunks).toString('utf8')));
      },
    });
  } catch (err) {
    throw invalidArgument(`image ${image} is a file but not a readable checkpoint archive: ${(err as Error).message}`);
  }
  if (tooLarge) throw invalidArgument(`checkpoint archive ${image}: ${tooLarge} is larger than ${MAX_DUMP_BYTES} bytes`);
  const configText = found.get(ARCHIVE.configDump);
  if (configText === undefined) throw invalidArgument(`image ${image} is a file but not a checkpoint archive (no ${ARCHIVE.configDump})`);
  let config: ConfigDump;
  let spec: CheckpointArchive['spec'];
  try {
    config = JSON.parse(configText) as ConfigDump;
    spec = JSON.parse(found.get(ARCHIVE.specDump) ?? '{}') as CheckpointArchive['spec'];
  } catch (err) {
    throw invalidArgument(`checkpoint archive ${image}: ${(err as Error).message}`);
  }
  const imageName = typeof config.rootfsImageName === 'string' && config.rootfsImageName ? config.rootfsImageName : config.rootfsImage;
  if (typeof imageName !== 'string' || !imageName) throw invalidArgument(`checkpoint archive ${image}: ${ARCHIVE.configDump} names no image`);
  if (!images) throw invalidArgument(`checkpoint archive ${image} holds no CRIU images under ${ARCHIVE.checkpointDir}/`);
  return { path: image, config: { ...config, rootfsImageName: imageName }, spec };
}

/**
 * Restoring needs CRIU as much as checkpointing does; where `criu check` fails, no restore can
 * work, and CreateContainer says so before it makes anything.
 */
export async function requireRestorable(archive: CheckpointArchive, container: string): Promise<void> {
  const criu = await criuSupport();
  if (!criu.usable) {
    throw failedPrecondition(`container ${container}: restoring checkpoint ${archive.path} (of ${archive.config.name}, image ${archive.config.rootfsImageName}) needs CRIU, which cannot work on this node: ${criu.reason}`);
  }
}

/** Relative paths only, no `..`: a deleted-files entry never names anything outside the rootfs. */
function safeRelative(p: unknown): string | undefined {
  if (typeof p !== 'string' || !p || p.includes('\0')) return undefined;
  const rel = normalize(p).replace(/^\/+/, '');
  if (!rel || rel === '.' || rel.split('/').includes('..')) return undefined;
  return rel;
}

/**
 * Unpacks the archive into `dir` (CRIU images for `runc restore`), then brings the container's
 * changes back into its mounted rootfs: the writable-layer files, and the deletions of image
 * files (made through the overlay, which records them as whiteouts). Paths with `..` or through
 * symlinks are refused by the unpacker.
 */
export async function unpackCheckpoint(archive: CheckpointArchive, dir: string, rootfs: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await tarExtract({ file: archive.path, cwd: dir, strict: true, preservePaths: false });
  const diff = join(dir, ARCHIVE.rootfsDiff);
  if ((await lstat(diff).catch(() => undefined))?.isFile()) {
    await tarExtract({ file: diff, cwd: rootfs, strict: true, preservePaths: false, preserveOwner: true });
  }
  const deletedText = await readFile(join(dir, ARCHIVE.deletedFiles), 'utf8').catch(() => '[]');
  let deleted: unknown;
  try {
    deleted = JSON.parse(deletedText);
  } catch {
    throw invalidArgument(`checkpoint archive ${archive.path}: ${ARCHIVE.deletedFiles} is not JSON`);
  }
  for (const entry of Array.isArray(deleted) ? deleted : []) {
    const rel = safeRelative(entry);
    if (!rel) continue;
    // Every parent must be a real directory of the rootfs, not a link pointing elsewhere.
    const parts = rel.split('/');
    let parent = rootfs;
    let inside = true;
    for (const part of parts.slice(0, -1)) {
      parent = join(parent, part);
      if (!(await lstat(parent).catch(() => undefined))?.isDirectory()) {
        inside = false;
        break;
      }
    }
    if (inside) await rm(join(rootfs, rel), { recursive: true, force: true });
  }
  return join(dir, ARCHIVE.checkpointDir);
}
