import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const opaqueCache = new Map<string, ReadonlySet<string>>();

/**
 * Opaque directories of a store layer (recorded in layer.json beside its fs/ at unpack time,
 * so no xattr has to be read). Layers are immutable once unpacked, so the answer is cached.
 */
function opaqueDirs(layerDir: string): ReadonlySet<string> {
  let set = opaqueCache.get(layerDir);
  if (set === undefined) {
    set = new Set<string>();
    if (basename(layerDir) === 'fs') {
      try {
        const meta = JSON.parse(readFileSync(join(dirname(layerDir), 'layer.json'), 'utf8')) as { opaque?: unknown };
        if (Array.isArray(meta.opaque)) set = new Set(meta.opaque.filter((s): s is string => typeof s === 'string'));
      } catch {
        // Not a store layer: no opaque directories known.
      }
    }
    opaqueCache.set(layerDir, set);
  }
  return set;
}

/** Normalises a path inside a root the way a chroot does: `..` stops at the root. */
function components(path: string): string[] {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

const MAX_SYMLINKS = 40;

/**
 * The host path of the file a container would see at `relPath` in the overlay of `layerDirs`
 * (bottom to top), without mounting anything: upper layers hide lower ones, whiteouts (char
 * device 0:0) delete, opaque directories cut off what is below them, and symlinks are followed
 * inside the image's root (never to the host's). Undefined when there is no such file or the
 * path ends at a directory.
 */
export function findInLayers(layerDirs: readonly string[], relPath: string): string | undefined {
  let parts = components(relPath);
  for (let hops = 0; hops <= MAX_SYMLINKS; hops++) {
    const found = lookup(layerDirs, parts);
    if (found === undefined) return undefined;
    if (found.kind === 'file') return found.path;
    // A symlink at `found.depth`: continue with its target plus the rest of the path.
    const base = found.target.startsWith('/') ? [] : parts.slice(0, found.depth);
    parts = components([...base, found.target, ...parts.slice(found.depth + 1)].join('/'));
  }
  return undefined;
}

type Found = { kind: 'file'; path: string } | { kind: 'symlink'; depth: number; target: string };

function lookup(layerDirs: readonly string[], parts: string[]): Found | undefined {
  if (parts.length === 0) return undefined;
  for (let i = layerDirs.length - 1; i >= 0; i--) {
    const layer = layerDirs[i]!;
    const opaque = opaqueDirs(layer);
    let cur = layer;
    for (let k = 0; k < parts.length; k++) {
      const p = join(cur, parts[k]!);
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (st === undefined) {
        // Not in this layer. Lower layers still count unless a directory on the way is opaque here.
        for (let j = 1; j <= k; j++) if (opaque.has(parts.slice(0, j).join('/'))) return undefined;
        break;
      }
      if (st.isCharacterDevice() && st.rdev === 0) return undefined; // whiteout
      if (st.isSymbolicLink()) return { kind: 'symlink', depth: k, target: readlinkSync(p) };
      if (k === parts.length - 1) return st.isDirectory() ? undefined : { kind: 'file', path: p };
      if (!st.isDirectory()) return undefined; // a file where a directory should be hides the lower ones
      cur = p;
    }
  }
  return undefined;
}
