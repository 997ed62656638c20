import { invalidArgument } from '../../errors.js';
import { SecurityProfile_ProfileType, type LinuxContainerSecurityContext, type SecurityProfile } from '../../gen/runtime/v1/api.js';
import { runtimeDefaultSeccomp } from '../seccomp-default.js';
import { DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from './base.js';
import { normalizeCapability, resolveCapabilities } from './capabilities.js';
import type { ContainerSpecInput, PauseSpecInput, SpecOpt } from './types.js';

export type SeccompChoice = { kind: 'unconfined' } | { kind: 'default' } | { kind: 'localhost'; path: string };

/**
 * The seccomp profile a request names, from the SecurityProfile message or, for older kubelets
 * and crictl, the deprecated path string ("", "unconfined", "runtime/default", "docker/default",
 * "localhost/<absolute path>").
 */
export function seccompChoice(profile: SecurityProfile | undefined, legacyPath: string): SeccompChoice {
  if (profile) {
    switch (profile.profileType) {
      case SecurityProfile_ProfileType.Unconfined:
        return { kind: 'unconfined' };
      case SecurityProfile_ProfileType.Localhost:
        if (!profile.localhostRef.startsWith('/')) throw invalidArgument(`seccomp localhost profile "${profile.localhostRef}" is not an absolute path`);
        return { kind: 'localhost', path: profile.localhostRef };
      case SecurityProfile_ProfileType.RuntimeDefault:
        return { kind: 'default' };
      default:
        throw invalidArgument(`unknown seccomp profile type ${profile.profileType}`);
    }
  }
  if (legacyPath === '' || legacyPath === 'unconfined') return { kind: 'unconfined' };
  if (legacyPath === 'runtime/default' || legacyPath === 'docker/default') return { kind: 'default' };
  if (legacyPath.startsWith('localhost/')) return { kind: 'localhost', path: legacyPath.slice('localhost/'.length) };
  throw invalidArgument(`seccomp profile "${legacyPath}" is neither unconfined, runtime/default nor localhost/<path>`);
}

/** The seccomp choice of a container's security context. */
export const containerSeccompChoice = (sc: LinuxContainerSecurityContext | undefined): SeccompChoice =>
  seccompChoice(sc?.seccomp, sc?.seccompProfilePath ?? '');

const securityContext = (input: ContainerSpecInput) => input.config.linux?.securityContext;
const isPrivileged = (input: ContainerSpecInput) => securityContext(input)?.privileged ?? false;

/** SELinux labels and AppArmor profiles are refused on a node that has neither. */
export const withMacChecks: SpecOpt<ContainerSpecInput> = (_spec, input) => {
  const sc = securityContext(input);
  const selinux = sc?.selinuxOptions;
  if (selinux && (selinux.user || selinux.role || selinux.type || selinux.level) && !input.node.selinux) {
    throw invalidArgument('SELinux options were given but SELinux is not enabled on this node');
  }
  const apparmorLocal = sc?.apparmor?.profileType === SecurityProfile_ProfileType.Localhost
    || (!!sc?.apparmorProfile && !['', 'unconfined', 'runtime/default'].includes(sc.apparmorProfile));
  if (apparmorLocal && !input.node.apparmor) {
    throw invalidArgument('an AppArmor profile was given but AppArmor is not enabled on this node');
  }
};

/** Privileged containers only in privileged pods. */
export const withPrivilegeCheck: SpecOpt<ContainerSpecInput> = (_spec, input) => {
  if (isPrivileged(input) && !input.pod.privileged) throw invalidArgument('a privileged container needs a privileged pod sandbox');
};

/**
 * Privileged: every capability the node allows. Otherwise the defaults with the request's adds
 * and drops; ambient capabilities are also inheritable, and held.
 */
export const withCapabilities: SpecOpt<ContainerSpecInput> = (spec, input) => {
  if (isPrivileged(input)) {
    const all = [...input.node.capabilities];
    spec.process.capabilities = { bounding: all, effective: all, permitted: all };
    return;
  }
  const req = securityContext(input)?.capabilities;
  const caps = resolveCapabilities(DEFAULT_CAPABILITIES, req?.addCapabilities ?? [], req?.dropCapabilities ?? [], input.node.capabilities);
  const ambient = (req?.addAmbientCapabilities ?? []).map(normalizeCapability);
  for (const c of ambient) if (!caps.includes(c)) caps.push(c);
  spec.process.capabilities = {
    bounding: caps,
    effective: caps,
    permitted: caps,
    inheritable: ambient.length ? ambient : undefined,
    ambient: ambient.length ? ambient : undefined,
  };
};

/** Privileged: nothing masked or read-only. Otherwise the request's lists, or the defaults. */
export const withMaskedPaths: SpecOpt<ContainerSpecInput> = (spec, input) => {
  const sc = securityContext(input);
  if (isPrivileged(input)) {
    spec.linux.maskedPaths = [];
    spec.linux.readonlyPaths = [];
    return;
  }
  spec.linux.maskedPaths = sc?.maskedPaths.length ? [...sc.maskedPaths] : [...DEFAULT_MASKED_PATHS];
  spec.linux.readonlyPaths = sc?.readonlyPaths.length ? [...sc.readonlyPaths] : [...DEFAULT_READONLY_PATHS];
};

export const withNoNewPrivileges: SpecOpt<ContainerSpecInput> = (spec, input) => {
  spec.process.noNewPrivileges = securityContext(input)?.noNewPrivs ?? false;
};

/**
 * RuntimeDefault is cricket's profile, shaped by the capabilities held (so run after
 * withCapabilities); Localhost is the file the caller read. Privileged containers get none, as in
 * every other runtime, though the choice is still checked.
 */
export const withContainerSeccomp: SpecOpt<ContainerSpecInput> = (spec, input) => {
  const choice = containerSeccompChoice(securityContext(input));
  if (isPrivileged(input)) return;
  if (choice.kind === 'localhost') {
    if (!input.localhostSeccomp) throw new Error(`seccomp profile ${choice.path} was not read before building the spec`);
    spec.linux.seccomp = input.localhostSeccomp;
  } else if (choice.kind === 'default') {
    spec.linux.seccomp = runtimeDefaultSeccomp(spec.process.capabilities?.effective ?? []);
  }
};

/** The pause process needs no privilege at all. */
export const withPauseSecurity: SpecOpt<PauseSpecInput> = (spec) => {
  spec.process.capabilities = { bounding: [], effective: [], permitted: [] };
  spec.process.noNewPrivileges = true;
};

export const podSeccompChoice = (input: Pick<PauseSpecInput, 'config'>): SeccompChoice => {
  const sc = input.config.linux?.securityContext;
  return seccompChoice(sc?.seccomp, sc?.seccompProfilePath ?? '');
};

export const withPauseSeccomp: SpecOpt<PauseSpecInput> = (spec, input) => {
  const choice = podSeccompChoice(input);
  if (choice.kind === 'default') spec.linux.seccomp = runtimeDefaultSeccomp([]);
  else if (choice.kind === 'localhost') {
    if (!input.localhostSeccomp) throw new Error(`seccomp profile ${choice.path} was not read before building the spec`);
    spec.linux.seccomp = input.localhostSeccomp;
  }
};
