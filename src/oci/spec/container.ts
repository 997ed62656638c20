import type { OciSpec } from '../spec-types.js';
import { withContainerAnnotations } from './annotations.js';
import { skeleton } from './base.js';
import { withDevices } from './devices.js';
import { withContainerMounts, withRootfsPropagation, withWritableSysfs } from './mounts.js';
import { withContainerNamespaces } from './namespaces.js';
import { withRecursiveReadonly } from './recursive-readonly.js';
import { withContainerArgs, withContainerCwd, withContainerEnv, withContainerRoot, withContainerUser, withTerminal } from './process.js';
import { withContainerCgroupsPath, withContainerResources } from './resources.js';
import {
  withCapabilities,
  withContainerSeccomp,
  withMacChecks,
  withMaskedPaths,
  withNoNewPrivileges,
  withPrivilegeCheck,
} from './security.js';
import { withContainerCdiEdits } from './cdi.js';
import { withContainerUserNamespace } from './user-namespace.js';
import { applyOpts, type ContainerSpecInput, type SpecOpt } from './types.js';

/**
 * The rules of an app container's spec, in the order they apply. Checks come first, so that a
 * refused request fails before anything is computed; seccomp follows the capabilities it depends
 * on, and devices follow the resources whose device rules they extend.
 */
export const CONTAINER_SPEC: readonly SpecOpt<ContainerSpecInput>[] = [
  withMacChecks,
  withPrivilegeCheck,
  withTerminal,
  withContainerUser,
  withContainerArgs,
  withContainerEnv,
  withContainerCwd,
  withContainerRoot,
  withContainerMounts,
  withWritableSysfs,
  withContainerAnnotations,
  withContainerNamespaces,
  withContainerUserNamespace,
  withContainerCgroupsPath,
  withCapabilities,
  withMaskedPaths,
  withNoNewPrivileges,
  withContainerSeccomp,
  withContainerResources,
  withDevices,
  withContainerCdiEdits,
  withRootfsPropagation,
  withRecursiveReadonly,
];

/** config.json of an app container: a pure function of the request, image, pod and node. */
export function containerSpec(input: ContainerSpecInput): OciSpec {
  return applyOpts(skeleton(), input, CONTAINER_SPEC);
}
