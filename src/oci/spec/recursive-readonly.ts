import { invalidArgument } from '../../errors.js';
import { MountPropagation, type Mount as CriMount } from '../../gen/runtime/v1/api.js';
import type { OciSpec } from '../spec-types.js';

/** What of a mount the rules of `rro` look at. */
export type RroMount = { containerPath: string; readonly: boolean; propagation: number; recursiveReadOnly?: boolean };

/** What decides whether `rro` can be asked for: the handler's name and its probed features. */
export interface RroHandler {
  handler: string;
  features: { recursiveReadOnlyMounts: boolean; notes: string[] };
}

/**
 * The rules kubelet applies to Mount.recursive_read_only, checked again here since the CRI
 * socket has other clients: it only makes sense on a read-only mount, a mount that receives
 * mounts from the host (slave or shared propagation) would have them appear writable, and the
 * pod's handler must be able to do it on this kernel.
 */
export function checkRecursiveReadonly(mounts: readonly RroMount[], runtime: RroHandler): void {
  for (const m of mounts) {
    if (!m.recursiveReadOnly) continue;
    const where = `mount at ${m.containerPath}`;
    if (!m.readonly) throw invalidArgument(`${where}: recursive_read_only needs readonly`);
    if (m.propagation !== MountPropagation.PROPAGATION_PRIVATE) {
      throw invalidArgument(`${where}: recursive_read_only needs private propagation`);
    }
    if (!runtime.features.recursiveReadOnlyMounts) {
      const why = runtime.features.notes.length > 0 ? ` (${runtime.features.notes.join('; ')})` : '';
      throw invalidArgument(`${where}: recursive read-only mounts are not supported by runtime handler "${runtime.handler}" on this node${why}`);
    }
  }
}

/**
 * Adds `rro` beside `ro` on the bind mounts the request made recursively read-only: the runtime
 * then makes every submount under them read-only too (mount_setattr with AT_RECURSIVE).
 */
export function applyRecursiveReadonly(spec: OciSpec, mounts: readonly RroMount[], runtime: RroHandler): void {
  checkRecursiveReadonly(mounts, runtime);
  const wanted = new Set(mounts.filter((m) => m.recursiveReadOnly).map((m) => m.containerPath));
  if (wanted.size === 0) return;
  for (const mount of spec.mounts) {
    if (mount.type !== 'bind' || !wanted.has(mount.destination)) continue;
    const options = mount.options ?? [];
    mount.options = [...options.filter((o) => o !== 'rw' && o !== 'rro'), ...(options.includes('ro') ? [] : ['ro']), 'rro'];
  }
}

/** The option form of applyRecursiveReadonly, for the container spec's list of rules. */
export const withRecursiveReadonly = (spec: OciSpec, input: { config: { mounts: readonly CriMount[] }; runtime: RroHandler }): void => {
  applyRecursiveReadonly(
    spec,
    input.config.mounts.map((m) => ({ containerPath: m.containerPath, readonly: m.readonly, propagation: m.propagation, recursiveReadOnly: m.recursiveReadOnly })),
    input.runtime,
  );
};
