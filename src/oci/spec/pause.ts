import type { OciSpec } from '../spec-types.js';
import { withPauseAnnotations } from './annotations.js';
import { skeleton } from './base.js';
import { withPauseMounts } from './mounts.js';
import { withPauseHostname, withPauseNamespaces, withPauseSysctls } from './namespaces.js';
import { withPauseProcess, withPauseUser } from './process.js';
import { withPauseCgroupsPath } from './resources.js';
import { withPauseSeccomp, withPauseSecurity } from './security.js';
import { withPauseUserNamespace } from './user-namespace.js';
import { applyOpts, type PauseSpecInput, type SpecOpt } from './types.js';

/** The rules of the pause process's spec, in the order they apply. */
export const PAUSE_SPEC: readonly SpecOpt<PauseSpecInput>[] = [
  withPauseProcess,
  withPauseUser,
  withPauseHostname,
  withPauseMounts,
  withPauseAnnotations,
  withPauseNamespaces,
  withPauseUserNamespace,
  withPauseCgroupsPath,
  withPauseSysctls,
  withPauseSecurity,
  withPauseSeccomp,
];

/** config.json of a pod's pause process: a pure function of the request, pause image, pod and node. */
export function pauseSpec(input: PauseSpecInput): OciSpec {
  return applyOpts(skeleton(), input, PAUSE_SPEC);
}
