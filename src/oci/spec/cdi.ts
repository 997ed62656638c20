import type { OciHook, OciHookName, OciSpec } from '../spec-types.js';

/** A device node of a CDI edit, with type and numbers already read from the host. */
export interface CdiDeviceNode {
  /** Path inside the container. */
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
  /** Cgroup access: a mix of r, w and m. */
  permissions: string;
}

export interface CdiMount {
  hostPath: string;
  containerPath: string;
  type?: string;
  options?: string[];
}

/** The containerEdits of a CDI spec or device, checked, as the spec builder applies them. */
export interface CdiEdits {
  env: string[];
  deviceNodes: CdiDeviceNode[];
  mounts: CdiMount[];
  hooks: (OciHook & { hookName: OciHookName })[];
  additionalGids: number[];
}

const envKey = (entry: string) => entry.slice(0, entry.indexOf('=') === -1 ? entry.length : entry.indexOf('='));

/**
 * Applies CDI container edits in order (a spec's own edits, then its device's): environment
 * (a later value of a name replaces the earlier), device nodes with their cgroup allow rules,
 * mounts (after the container's own, so a CDI mount wins at the same destination), OCI hooks and
 * supplementary groups.
 */
export function withCdiEdits(spec: OciSpec, edits: readonly CdiEdits[]): OciSpec {
  for (const edit of edits) {
    if (edit.env.length) {
      const replaced = new Set(edit.env.map(envKey));
      spec.process.env = [...spec.process.env.filter((e) => !replaced.has(envKey(e))), ...edit.env];
    }
    for (const node of edit.deviceNodes) {
      const devices = (spec.linux.devices ??= []).filter((d) => d.path !== node.path);
      devices.push({ path: node.path, type: node.type, major: node.major, minor: node.minor, fileMode: node.fileMode, uid: node.uid ?? 0, gid: node.gid ?? 0 });
      spec.linux.devices = devices;
      const resources = (spec.linux.resources ??= {});
      (resources.devices ??= []).push({ allow: true, type: node.type, major: node.major, minor: node.minor, access: node.permissions });
    }
    for (const m of edit.mounts) {
      const type = m.type || 'bind';
      const options = m.options?.length ? m.options : type === 'bind' ? ['rbind', 'rprivate'] : [];
      spec.mounts = [...spec.mounts.filter((x) => x.destination !== m.containerPath), { destination: m.containerPath, type, source: m.hostPath, options }];
    }
    for (const { hookName, ...hook } of edit.hooks) {
      const hooks = (spec.hooks ??= {});
      (hooks[hookName] ??= []).push(hook);
    }
    if (edit.additionalGids.length) {
      const user = spec.process.user;
      user.additionalGids = [...new Set([...(user.additionalGids ?? []), ...edit.additionalGids])];
    }
  }
  return spec;
}

/** The option form, for the container spec's list of rules. */
export const withContainerCdiEdits = (spec: OciSpec, input: { cdiEdits?: readonly CdiEdits[] }): void => {
  if (input.cdiEdits?.length) withCdiEdits(spec, input.cdiEdits);
};
