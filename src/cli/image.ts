import { CricketError } from '../errors.js';
import { ImageStore, type ImportProgress } from '../image/store.js';
import type { ImageRecord } from '../image/types.js';
import { parseArgs } from './args.js';

const USAGE = `usage:
  cricket image import PATH [--name REF]   import an OCI layout dir, OCI archive or docker save archive
  cricket image ls [--quiet]               list images (--quiet: ids only)
  cricket image inspect REF                the image's record as JSON
  cricket image rm REF...                  remove images (layers other images use stay)
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
      const what = p.phase === 'archive'
        ? `reading archive ${formatBytes(p.bytes)}${total}`
        : `${p.image ?? ''}: layer ${p.layer ?? p.layers}/${p.layers} ${formatBytes(p.bytes)}${total}`;
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
    process.stderr.write(USAGE);
    return 2;
  };
  if (flags.help || sub === undefined) return sub === undefined && !flags.help ? usage() : (out(USAGE), 0);

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
          const removed = await store.remove(ref);
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
