import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { chmod, mkdir, realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CricketError, invalidArgument, withContext } from '../errors.js';
import { logger } from '../log/logger.js';
import { bindMount, mountOverlay, unmount } from '../process/mount.js';
import { mountsAt } from '../process/mount-table.js';
import { syscalls } from '../process/syscalls.js';

export interface RootfsSpec {
  /** Absolute layer directories, bottom to top. */
  layers: readonly string[];
  /** Writable upper and work dirs (same filesystem); without them the rootfs is read-only. */
  upper?: string;
  work?: string;
  /** Mount point; created when missing. */
  target: string;
}

/** mount(2) copies at most one page of options. */
const MAX_OPTIONS = 4000;

function checkPath(p: string, what: string): void {
  if (!isAbsolute(p)) throw invalidArgument(`rootfs: ${what} "${p}" is not absolute`);
  // Overlay options are split on ',' and lowerdir on ':'; such paths cannot be passed safely.
  if (/[,:\n\\]/.test(p)) throw invalidArgument(`rootfs: ${what} "${p}" contains ',', ':', '\\' or a newline`);
}

let indexParam: boolean | undefined;
/** Shared lower dirs across many mounts need the overlay inode index off (as containerd does). */
function supportsIndexOption(): boolean {
  indexParam ??= existsSync('/sys/module/overlay/parameters/index');
  return indexParam;
}

/** The longest directory all paths are under. */
function commonParent(paths: readonly string[]): string {
  let parts = paths[0]!.split(sep);
  for (const p of paths.slice(1)) {
    const q = p.split(sep);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(sep) || sep;
}

/**
 * Mounts a container's root filesystem at `target`: an overlay of the layers (lowerdir lists the
 * top layer first) with `upper`/`work` when given. A single read-only layer is bind-mounted
 * read-only instead (overlay needs two lower dirs without an upper). If `target` already holds
 * the same mount (cricket restarted after mounting), nothing is done. Long layer lists are passed
 * relative to their common parent (mount runs there), which keeps them within one page.
 */
export async function mountRootfs(spec: RootfsSpec): Promise<void> {
  const { layers, upper, work, target } = spec;
  try {
    if (layers.length === 0) throw invalidArgument('rootfs: no layers');
    if ((upper === undefined) !== (work === undefined)) throw invalidArgument('rootfs: upper and work go together');
    layers.forEach((l, i) => checkPath(l, `layer ${i + 1}`));
    checkPath(target, 'target');
    if (upper !== undefined) checkPath(upper, 'upper');
    if (work !== undefined) checkPath(work, 'work');
    for (const l of layers) if (!existsSync(l)) throw invalidArgument(`rootfs: layer ${l} does not exist`);

    const made = await mkdir(target, { recursive: true, mode: 0o755 });
    const real = await realpath(target);
    // Only a directory that was already there can have a mount on it (a retried call, recovery):
    // reading the node's mount table costs more the more pods the node runs.
    const mounted = made === undefined ? mountsAt(real) : [];
    if (mounted.length > 0) {
      const top = mounted[mounted.length - 1]!;
      const overlay = !(upper === undefined && layers.length === 1);
      const same = overlay
        ? top.fsType === 'overlay' && (upper === undefined || top.superOptions.includes(`upperdir=${upper}`))
        : top.fsType !== 'overlay';
      if (same) return;
      throw new CricketError('failed-precondition', `rootfs: ${real} already has a different ${top.fsType} mount`);
    }

    if (upper === undefined && layers.length === 1) {
      await bindMount(layers[0]!, real, true);
      return;
    }

    if (upper !== undefined && work !== undefined) {
      // The upper dir's own mode becomes that of the container's "/": 0755, whatever the umask.
      if ((await mkdir(upper, { recursive: true })) !== undefined) await chmod(upper, 0o755);
      await mkdir(work, { recursive: true, mode: 0o700 });
    }
    const build = (lower: string[]) => {
      const opts = [`lowerdir=${lower.join(':')}`];
      if (upper !== undefined) opts.push(`upperdir=${upper}`, `workdir=${work}`);
      if (supportsIndexOption()) opts.push('index=off');
      return opts.join(',');
    };
    const topFirst = [...layers].reverse();
    let options = build(topFirst);
    let cwd: string | undefined;
    if (options.length > MAX_OPTIONS) {
      cwd = commonParent(layers);
      options = build(topFirst.map((l) => relative(cwd!, l)));
      if (options.length > MAX_OPTIONS) throw invalidArgument(`rootfs: ${layers.length} layers do not fit in overlay mount options`);
    }
    await mountOverlay(real, options, cwd);
  } catch (err) {
    throw withContext(`mounting rootfs at ${target}`, err);
  }
}

/**
 * Unmounts whatever is mounted at `target` (stacked mounts too). Idempotent: nothing mounted, or
 * no such directory, is success. A busy mount is retried, then detached lazily (it goes away
 * when its last user does) so that teardown can finish.
 */
export async function unmountRootfs(target: string): Promise<void> {
  let real: string;
  try {
    real = await realpath(target);
  } catch {
    return;
  }
  // With the addon, umount2's own answer says when nothing is left there; mountinfo (read on the
  // event loop, and as long as the node's mount table) is read only without it.
  const exact = syscalls() !== undefined;
  for (let attempt = 0; exact || mountsAt(real).length > 0; attempt++) {
    try {
      await unmount(real, attempt >= 3);
    } catch (err) {
      if (exact ? nothingMounted(err) : mountsAt(real).length === 0) return;
      if (attempt >= 3) throw withContext(`unmounting rootfs at ${target}`, err);
      if (attempt === 2) logger.warn({ target, err: (err as Error).message }, 'rootfs busy; detaching lazily');
      await sleep(100 * (attempt + 1));
    }
    if (attempt > 10) throw new CricketError('internal', `unmounting rootfs at ${target}: still mounted after ${attempt} attempts`);
  }
}

/** umount2's EINVAL: the path is no mount point (any more); ENOENT: it is gone. Errno as the addon gives it. */
function nothingMounted(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === String(osConstants.errno.EINVAL) || code === String(osConstants.errno.ENOENT);
}
