// Pod volumes made on the node before the pod starts, as kubelet's volume manager makes them:
// emptyDir (a directory per pod, or a tmpfs), hostPath, and configMap/secret files from the
// manifest. All of them live under the CLI's own pods directory, never in the daemon's state.
import { chmodSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, closeSync, constants, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Volume } from 'kubernetes-types/core/v1.js';
import { run } from '../../process/run.js';
import { objectKey, type Manifest, type PlayPod } from './manifest.js';
import { bytes } from './quantity.js';

const UID = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;

/** A prepared volume: where it is on the node and whether containers may only read it. */
export interface PreparedVolume {
  hostPath: string;
  readOnly: boolean;
}

export function podDir(podsDir: string, uid: string): string {
  if (!UID.test(uid)) throw new Error(`pod uid "${uid}" is not a plain name`);
  return join(podsDir, uid);
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  chmodSync(dir, 0o700);
}

/**
 * `keep`: the pod runs already (a new `play --watch` takes it over): configMap and secret
 * directories its containers have mounted stay as they are rather than being written anew.
 */
export async function prepareVolumes(p: PlayPod, manifest: Manifest, podsDir: string, uid: string, keep = false): Promise<Map<string, PreparedVolume>> {
  ensurePrivateDir(podsDir);
  const root = podDir(podsDir, uid);
  ensurePrivateDir(root);
  const namespace = p.pod.metadata.namespace;
  const volumes = new Map<string, PreparedVolume>();
  for (const v of p.pod.spec?.volumes ?? []) {
    const where = `pod ${namespace}/${p.pod.metadata.name}, volume ${v.name}`;
    try {
      volumes.set(v.name, await prepareVolume(v, manifest, namespace, root, keep));
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
  }
  return volumes;
}

async function prepareVolume(v: Volume, manifest: Manifest, namespace: string, root: string, keep: boolean): Promise<PreparedVolume> {
  if (v.emptyDir) {
    const dir = join(root, 'volumes', 'kubernetes.io~empty-dir', v.name);
    ensurePrivateDir(dirname(dir));
    mkdirSync(dir, { recursive: true });
    if (v.emptyDir.medium === 'Memory') {
      const size = v.emptyDir.sizeLimit !== undefined ? bytes(v.emptyDir.sizeLimit) : 0;
      if (!isMountPoint(dir)) await run('mount', ['-t', 'tmpfs', '-o', `mode=0777,nosuid,nodev${size ? `,size=${size}` : ''}`, 'tmpfs', dir], { timeoutMs: 30_000 });
    }
    // Any user a container runs as may write its emptyDir; the 0700 parents keep others out.
    chmodSync(dir, 0o777);
    return { hostPath: dir, readOnly: false };
  }
  if (v.hostPath) return { hostPath: prepareHostPath(v.hostPath.path, v.hostPath.type ?? ''), readOnly: false };
  if (v.configMap) {
    const cm = manifest.configMaps.get(objectKey(namespace, v.configMap.name ?? ''));
    if (!cm && !v.configMap.optional) throw new Error(`configMap "${v.configMap.name}" is not in ${manifest.source}`);
    const data = new Map<string, Buffer>();
    for (const [k, s] of Object.entries(cm?.data ?? {})) data.set(k, Buffer.from(s));
    for (const [k, s] of Object.entries(cm?.binaryData ?? {})) data.set(k, Buffer.from(s, 'base64'));
    const dir = join(root, 'volumes', 'kubernetes.io~configmap', v.name);
    if (keep && isDirectory(dir)) return { hostPath: dir, readOnly: true };
    writeKeys(dir, data, v.configMap.items, v.configMap.defaultMode ?? 0o644, 0o755, `configMap "${v.configMap.name}"`);
    return { hostPath: dir, readOnly: true };
  }
  if (v.secret) {
    const data = manifest.secrets.get(objectKey(namespace, v.secret.secretName ?? ''));
    if (!data && !v.secret.optional) throw new Error(`secret "${v.secret.secretName}" is not in ${manifest.source}`);
    const dir = join(root, 'volumes', 'kubernetes.io~secret', v.name);
    if (keep && isDirectory(dir)) return { hostPath: dir, readOnly: true };
    // Secrets stay root's unless the manifest asks for a mode others may read.
    const mode = v.secret.defaultMode ?? 0o600;
    writeKeys(dir, data ?? new Map(), v.secret.items, mode, mode & 0o044 ? 0o755 : 0o700, `secret "${v.secret.secretName}"`);
    return { hostPath: dir, readOnly: true };
  }
  throw new Error('no supported volume source');
}

function writeKeys(dir: string, data: Map<string, Buffer>, items: { key: string; path: string; mode?: number }[] | undefined, fileMode: number, dirMode: number, what: string): void {
  ensurePrivateDir(dirname(dir));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: dirMode });
  chmodSync(dir, dirMode);
  const files = items?.length
    ? items.map((item) => {
        const value = data.get(item.key);
        if (value === undefined) throw new Error(`${what} has no key "${item.key}"`);
        return { path: item.path, value, mode: item.mode ?? fileMode };
      })
    : [...data].map(([key, value]) => ({ path: key, value, mode: fileMode }));
  for (const f of files) {
    if (f.path.startsWith('/') || f.path.split('/').some((s) => s === '..' || s === '')) throw new Error(`${what}: "${f.path}" is not a relative path inside the volume`);
    const target = join(dir, f.path);
    mkdirSync(dirname(target), { recursive: true, mode: dirMode });
    writeFileSync(target, f.value, { mode: f.mode & 0o777, flag: 'wx' });
    chmodSync(target, f.mode & 0o777);
  }
}

function prepareHostPath(path: string, type: string): string {
  const kind = () => {
    try {
      return statSync(path);
    } catch {
      return undefined;
    }
  };
  const st = kind();
  switch (type) {
    case 'DirectoryOrCreate':
      if (!st) mkdirSync(path, { recursive: true, mode: 0o755 });
      else if (!st.isDirectory()) throw new Error(`hostPath ${path} exists and is not a directory`);
      break;
    case 'FileOrCreate':
      if (!st) {
        mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
        closeSync(openSync(path, constants.O_CREAT | constants.O_WRONLY | constants.O_NOFOLLOW, 0o644));
      } else if (!st.isFile()) throw new Error(`hostPath ${path} exists and is not a file`);
      break;
    case 'Directory':
      if (!st?.isDirectory()) throw new Error(`hostPath ${path} is not a directory`);
      break;
    case 'File':
      if (!st?.isFile()) throw new Error(`hostPath ${path} is not a file`);
      break;
    case 'Socket':
      if (!st?.isSocket()) throw new Error(`hostPath ${path} is not a socket`);
      break;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) throw new Error(`hostPath ${path} is not a character device`);
      break;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) throw new Error(`hostPath ${path} is not a block device`);
      break;
    default:
      break;
  }
  return path;
}

/** Mount points at or under `dir`, deepest first, from this process's mount table. */
function mountsUnder(dir: string): string[] {
  const decode = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => decode(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

const isMountPoint = (dir: string) => mountsUnder(dir).includes(dir);

/** Unmounts the pod's tmpfs volumes and removes its directory; done with the pod. */
export async function removePodDir(podsDir: string, uid: string): Promise<void> {
  const root = podDir(podsDir, uid);
  for (const m of mountsUnder(root)) await run('umount', [m], { timeoutMs: 30_000 });
  rmSync(root, { recursive: true, force: true });
}

/** uids of the pod directories present, for `--down` to find ones whose pod is already gone. */
export function podDirs(podsDir: string): string[] {
  try {
    return readdirSync(podsDir).filter((n) => UID.test(n));
  } catch {
    return [];
  }
}
