import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, statePaths } from '../config/config.js';
import { CricketError } from '../errors.js';
import { Puller } from '../image/pull.js';
import { ImageStore, type ImportProgress } from '../image/store.js';
import type { ImageRecord } from '../image/types.js';
import { parseArgs } from './args.js';

export const IMAGE_USAGE = `usage:
  cricket image pull REF [--user U:P]      pull from a registry (mirrors, CAs, credentials from the config)
  cricket image import PATH [--name REF]   import an OCI layout dir, OCI archive or docker save archive
  cricket image ls [--quiet]               list images (--quiet: ids only)
  cricket image inspect REF                the image's record as JSON
  cricket image rm REF...                  remove images (layers other images or containers use stay)
  cricket image prune                      delete layers and blobs no image or container uses

options:
  --name REF         with import: the name the image gets
  --pinned           with import: the image collector never removes it
  --user U:P         with pull: registry credentials
  --quiet            with ls: ids only
  --root DIR         the daemon's persistent state, where images live (default /var/lib/cricket)
  --config FILE      config file (default /etc/cricket/config.toml)
  --help             this text
`;

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

const shortId = (id: string): string => id.replace(/^sha256:/, '').slice(0, 13);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

function listRows(images: ImageRecord[]): string[][] {
  const rows = [['IMAGE', 'TAG', 'IMAGE ID', 'SIZE', 'PINNED']];
  const sorted = [...images].sort((a, b) => (a.repoTags[0] ?? '~').localeCompare(b.repoTags[0] ?? '~'));
  for (const img of sorted) {
    const tags = img.repoTags.length > 0 ? img.repoTags : ['<none>:<none>'];
    for (const t of tags) {
      const colon = t.lastIndexOf(':');
      rows.push([t.slice(0, colon), t.slice(colon + 1), shortId(img.id), formatBytes(img.size), img.pinned ? 'yes' : '']);
    }
  }
  return rows;
}

/** A one-line progress display, redrawn in place; only when stderr is a terminal. */
function progressPrinter(): { onProgress?: (p: ImportProgress) => void; clear(): void } {
  if (!process.stderr.isTTY) return { clear() {} };
  let last = 0;
  let shown = false;
  return {
    onProgress(p) {
      const now = Date.now();
      if (p.phase !== 'done' && now - last < 100) return;
      last = now;
      const total = p.totalBytes ? ` / ${formatBytes(p.totalBytes)}` : '';
      const layers = p.layersDone !== undefined ? `layers ${p.layersDone}/${p.layers} done` : `layer ${p.layer ?? p.layers}/${p.layers}`;
      const what = p.phase === 'archive'
        ? `reading archive ${formatBytes(p.bytes)}${total}`
        : p.phase === 'manifest'
          ? `${p.image ?? ''}: resolving`
          : `${p.image ?? ''}: ${layers}, ${formatBytes(p.bytes)}${total}`;
      process.stderr.write(`\r\x1b[K${what}`);
      shown = true;
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

/** `cricket image …`; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function imageCommand(argv: string[], opts: { root: string }): Promise<number> {
  const { flags, positional } = parseArgs(argv, new Set(['quiet', 'help', 'pinned']));
  const [sub, ...args] = positional;
  const out = (s: string) => process.stdout.write(s);
  const usage = (msg?: string) => {
    if (msg) process.stderr.write(`cricket image: ${msg}\n`);
    process.stderr.write(IMAGE_USAGE);
    return 2;
  };
  if (flags.help || sub === undefined) return sub === undefined && !flags.help ? usage() : (out(IMAGE_USAGE), 0);

  try {
    switch (sub) {
      case 'import': {
        if (args.length !== 1) return usage('import takes one PATH');
        const store = ImageStore.open(opts.root);
        const progress = progressPrinter();
        let records: ImageRecord[];
        try {
          records = await store.importPath(args[0]!, { name: flags.name, pinned: flags.pinned === 'true', onProgress: progress.onProgress });
        } finally {
          progress.clear();
        }
        for (const r of records) {
          const names = r.repoTags.length > 0 ? r.repoTags.join(', ') : '<untagged>';
          out(`imported ${names} ${r.id} (${r.layers.length} layer${r.layers.length === 1 ? '' : 's'}, ${formatBytes(r.size)})\n`);
        }
        return 0;
      }
      case 'pull': {
        if (args.length !== 1) return usage('pull takes one REF');
        const config = loadConfig(flags);
        const store = ImageStore.open(opts.root, config.images);
        const progress = progressPrinter();
        let auth: { username: string; password: string } | undefined;
        if (flags.user) {
          const colon = flags.user.indexOf(':');
          auth = colon < 0 ? { username: flags.user, password: '' } : { username: flags.user.slice(0, colon), password: flags.user.slice(colon + 1) };
        }
        try {
          const r = await new Puller(store, config.registries).pull(args[0]!, { auth, onProgress: progress.onProgress });
          progress.clear();
          const img = r.image;
          const name = img.repoTags[0] ?? img.repoDigests[0] ?? img.id;
          out(`pulled ${name} ${img.id} (${img.layers.length} layer${img.layers.length === 1 ? '' : 's'}: ${r.layersFetched} fetched, ${r.layersPresent} present; ${formatBytes(r.fetchedBytes)} in ${(r.ms / 1000).toFixed(1)} s; ${formatBytes(img.size)} unpacked)\n`);
        } finally {
          progress.clear();
        }
        return 0;
      }
      case 'prune': {
        if (args.length > 0) return usage('prune takes no arguments');
        const r = await ImageStore.open(opts.root).collectGarbage(containerImages(flags));
        out(`removed ${r.layers} layer${r.layers === 1 ? '' : 's'} and ${r.blobs} blob${r.blobs === 1 ? '' : 's'}\n`);
        return 0;
      }
      case 'ls':
      case 'list': {
        if (args.length > 0) return usage('ls takes no arguments');
        const images = ImageStore.open(opts.root).list();
        out(flags.quiet ? images.map((i) => `${i.id}\n`).join('') : table(listRows(images)));
        return 0;
      }
      case 'inspect': {
        if (args.length !== 1) return usage('inspect takes one REF');
        const store = ImageStore.open(opts.root);
        const img = store.resolve(args[0]!);
        if (!img) {
          process.stderr.write(`cricket image: no image ${args[0]}\n`);
          return 1;
        }
        out(`${JSON.stringify({ ...img, layerDirs: store.layerDirs(img) }, null, 2)}\n`);
        return 0;
      }
      case 'rm':
      case 'remove': {
        if (args.length === 0) return usage('rm takes at least one REF');
        const store = ImageStore.open(opts.root);
        let failed = 0;
        for (const ref of args) {
          const removed = await store.remove(ref, containerImages(flags));
          if (removed) out(`removed ${removed.repoTags.join(', ') || removed.id}\n`);
          else {
            process.stderr.write(`cricket image: no image ${ref}\n`);
            failed++;
          }
        }
        return failed > 0 ? 1 : 0;
      }
      default:
        return usage(`unknown subcommand "${sub}"`);
    }
  } catch (err) {
    const msg = err instanceof CricketError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`cricket image ${sub}: ${msg}\n`);
    return 1;
  }
}

/**
 * Image ids of the containers the daemon keeps records of (read from its state directory, as
 * the daemon may not be running): their layers are kept when their image is removed.
 */
function containerImages(flags: Record<string, string>): Set<string> {
  const ids = new Set<string>();
  const dir = statePaths(loadConfig(flags)).containerRecords;
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return ids;
  }
  for (const n of names) {
    try {
      const rec = JSON.parse(readFileSync(join(dir, n), 'utf8')) as { imageId?: unknown; imageVolumeIds?: unknown };
      if (typeof rec.imageId === 'string') ids.add(rec.imageId);
      if (Array.isArray(rec.imageVolumeIds)) for (const id of rec.imageVolumeIds) if (typeof id === 'string') ids.add(id);
    } catch {
      // A record being written: the daemon's own collection will see it.
    }
  }
  return ids;
}
