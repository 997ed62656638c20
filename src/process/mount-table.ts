import { readFileSync } from 'node:fs';

/** One line of /proc/self/mountinfo, the fields cricket reads. */
export interface MountEntry {
  mountPoint: string;
  /** The mount's own options: ro, nosuid, nodev, noexec... */
  options: string[];
  fsType: string;
  /** A device, or the name a virtual file system was mounted with (a tmpfs's, say). */
  source: string;
  /** The file system's options (an overlay's lowerdir and upperdir, say). */
  superOptions: string;
}

/** mountinfo writes space, tab, newline and backslash in paths as octal escapes. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** The mounts stacked at `path` in this mount namespace, lowest first: the last one is the one seen. */
export function mountsAt(path: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    const f = left?.split(' ') ?? [];
    const r = right?.split(' ') ?? [];
    const mountPoint = unescape(f[4] ?? '');
    if (mountPoint !== path) continue;
    out.push({ mountPoint, options: (f[5] ?? '').split(','), fsType: r[0] ?? '', source: unescape(r[1] ?? ''), superOptions: r[2] ?? '' });
  }
  return out;
}
