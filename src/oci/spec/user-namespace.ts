import type { OciIdMapping, OciSpec } from '../spec-types.js';

/** A pod's user namespace: the id ranges its processes run under on the host. */
export interface PodIdMappings {
  uids: OciIdMapping[];
  gids: OciIdMapping[];
}

/** The pause process makes the pod's user namespace; its other new namespaces belong to it. */
export function withPodUserNamespace(spec: OciSpec, mappings: PodIdMappings | undefined): OciSpec {
  if (!mappings) return spec;
  spec.linux.namespaces = [...spec.linux.namespaces.filter((ns) => ns.type !== 'user'), { type: 'user' }];
  spec.linux.uidMappings = mappings.uids.map((m) => ({ ...m }));
  spec.linux.gidMappings = mappings.gids.map((m) => ({ ...m }));
  return spec;
}

/**
 * A container joins the pod's user namespace by path (the pause process's, checked to still be
 * pause). runc writes no mappings for a joined namespace, but 1.1 wants them in the spec all
 * the same, to check ids against: they are the pod's.
 */
export function withJoinedUserNamespace(spec: OciSpec, mappings: PodIdMappings | undefined, pausePid: number): OciSpec {
  if (!mappings) return spec;
  spec.linux.namespaces = [...spec.linux.namespaces.filter((ns) => ns.type !== 'user'), { type: 'user', path: `/proc/${pausePid}/ns/user` }];
  spec.linux.uidMappings = mappings.uids.map((m) => ({ ...m }));
  spec.linux.gidMappings = mappings.gids.map((m) => ({ ...m }));
  return spec;
}

/** The option forms, for the pause and container specs' lists of rules. */
export const withPauseUserNamespace = (spec: OciSpec, input: { userns?: PodIdMappings }): void => {
  withPodUserNamespace(spec, input.userns);
};

export const withContainerUserNamespace = (spec: OciSpec, input: { userns?: PodIdMappings; pod: { pausePid: number } }): void => {
  withJoinedUserNamespace(spec, input.userns, input.pod.pausePid);
};
