// The busybox image for tests and demos: Debian's dynamic busybox with the glibc libraries it
// needs, every applet a hard link to /bin/busybox (symlinks would break every applet when a
// runtime masks /bin/busybox), and a few users. Built offline from a cached .deb.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { makeImage, makeLayer, sha256 } from './lib/oci.mjs';

export const name = 'busybox';
export const ref = 'cricket.local/busybox:latest';

const here = dirname(new URL(import.meta.url).pathname);

const aptArchives = '/var/cache/apt/archives';

/**
 * The cached busybox .deb. Taken from apt's own archive cache when a copy is there (a machine
 * whose mirror is unreachable can still build), else downloaded with apt-get from Debian's mirror.
 */
function busyboxDeb(cacheDir, log) {
  const dir = join(cacheDir, 'apt');
  mkdirSync(dir, { recursive: true });
  const debsIn = (d) => (existsSync(d) ? readdirSync(d).filter((f) => /^busybox_.*\.deb$/.test(f)).sort() : []);
  const find = () => debsIn(dir);
  if (find().length === 0) {
    const archived = debsIn(aptArchives);
    if (archived.length > 0) {
      const pick = archived[archived.length - 1];
      log(`busybox from apt's archive cache: ${pick}`);
      copyFileSync(join(aptArchives, pick), join(dir, pick));
    }
  }
  if (find().length === 0) {
    const download = () => execFileSync('apt-get', ['download', '-q', '-o', 'Acquire::Retries=3', 'busybox'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    log('apt-get download busybox');
    try {
      download();
    } catch {
      // A fresh machine may have no package lists yet.
      log('apt-get update (package lists missing or stale)');
      execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
      download();
    }
  }
  const debs = find();
  if (debs.length === 0) throw new Error(`apt-get download busybox left no .deb in ${dir}`);
  return join(dir, debs[debs.length - 1]);
}

/** Libraries from `ldd` as [path in the image, host file], the loader at its PT_INTERP path. */
function sharedLibraries(binary) {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs = [];
  for (const line of out.split('\n')) {
    const arrow = line.match(/^\s*\S+ => (\/\S+) \(0x[0-9a-f]+\)/);
    const bare = line.match(/^\s*(\/\S+) \(0x[0-9a-f]+\)/);
    const path = arrow?.[1] ?? bare?.[1];
    if (path) libs.push([path.slice(1), realpathSync(path)]);
    else if (/not found/.test(line)) throw new Error(`busybox needs a library the host lacks: ${line.trim()}`);
  }
  return libs.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

function repoFiles(root, rel = '') {
  const out = [];
  for (const ent of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${ent.name}` : ent.name;
    if (ent.isDirectory()) out.push(...repoFiles(root, p));
    else out.push([p, readFileSync(join(root, p))]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

export function prepare({ buildDir, log }) {
  const cacheDir = join(buildDir, 'cache');
  const deb = busyboxDeb(cacheDir, log);
  const debBytes = readFileSync(deb);
  const unpacked = join(cacheDir, `busybox-${sha256(debBytes).slice(0, 16)}`);
  if (!existsSync(join(unpacked, 'bin/busybox'))) {
    const tmp = `${unpacked}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    execFileSync('dpkg-deb', ['-x', deb, tmp]);
    renameSync(tmp, unpacked);
  }
  const busyboxPath = join(unpacked, 'bin/busybox');
  const busybox = readFileSync(busyboxPath);
  const applets = execFileSync(busyboxPath, ['--list-full'], { encoding: 'utf8' })
    .split('\n').map((s) => s.trim()).filter((s) => s && s !== 'bin/busybox').sort();
  const libs = sharedLibraries(busyboxPath).map(([path, host]) => [path, readFileSync(host)]);
  const files = repoFiles(join(here, 'busybox/files'));

  const build = () => {
    const entries = [];
    const dirs = new Map([
      ['bin', 0o755], ['dev', 0o755], ['etc', 0o755], ['home', 0o755], ['proc', 0o755], ['root', 0o700],
      ['sys', 0o755], ['tmp', 0o1777], ['usr', 0o755], ['var', 0o755], ['var/www', 0o755],
    ]);
    const addParents = (p) => {
      const parts = p.split('/');
      for (let i = 1; i < parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (!dirs.has(d)) dirs.set(d, 0o755);
      }
    };
    for (const p of [...applets, ...libs.map(([p]) => p), ...files.map(([p]) => p)]) addParents(p);
    for (const [d, mode] of [...dirs.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      entries.push({ path: `${d}/`, type: 'dir', mode });
    }
    const regular = [
      ['bin/busybox', busybox, 0o755],
      ...libs.map(([p, data]) => [p, data, /ld-linux/.test(p) ? 0o755 : 0o644]),
      ...files.map(([p, data]) => [p, data, 0o644]),
    ].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (const [path, data, mode] of regular) entries.push({ path, data, mode });
    // Hard links last: their target is then always already in the archive.
    for (const a of applets) entries.push({ path: a, type: 'hardlink', linkname: 'bin/busybox', mode: 0o755 });
    return makeImage({
      ref,
      config: {
        Cmd: ['sh'],
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        WorkingDir: '/',
      },
      layers: [makeLayer(entries)],
      history: [`busybox ${relative(cacheDir, deb)} with ${libs.map(([p]) => p).join(', ')}`],
    });
  };
  return {
    inputs: [debBytes, busybox, ...libs.flatMap(([p, d]) => [p, d]), ...files.flatMap(([p, d]) => [p, d])],
    applets,
    build,
  };
}
