import { nativeTool } from './native-tools.js';
import { run } from './run.js';

/**
 * mount(2) and friends through native/cricket-mount: a static program that starts several times
 * faster than util-linux's mount, umount and unshare, and these calls sit on the pod start path.
 */
const TIMEOUT_MS = 30_000;

const mountTool = (args: string[], cwd?: string) => run(nativeTool('cricket-mount'), args, { timeoutMs: TIMEOUT_MS, cwd });

/** A new network namespace pinned on the existing file `path`. */
export async function pinNewNetns(path: string): Promise<void> {
  await mountTool(['netns', path]);
}

/** Overlay mount; relative lowerdirs in `options` are resolved against `cwd`. */
export async function mountOverlay(target: string, options: string, cwd?: string): Promise<void> {
  await mountTool(['overlay', target, options], cwd);
}

export async function bindMount(source: string, target: string, readonly: boolean): Promise<void> {
  await mountTool(readonly ? ['bind', source, target, 'ro'] : ['bind', source, target]);
}

/** Unmounts `path`; `lazy` detaches it even while it is busy. */
export async function unmount(path: string, lazy = false): Promise<void> {
  await mountTool(lazy ? ['umount', path, 'lazy'] : ['umount', path]);
}

/** An idmapped bind of `source` on `target`: ids shifted by the user namespace file `userns`. */
export async function idmapMount(source: string, target: string, userns: string): Promise<void> {
  await mountTool(['idmap', source, target, userns]);
}
