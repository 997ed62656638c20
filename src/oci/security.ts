import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument, notFound } from '../errors.js';
import { SecurityProfile_ProfileType, type LinuxContainerSecurityContext, type SecurityProfile } from '../gen/runtime/v1/api.js';
import { boundingCapabilities, normalizeCapability, resolveCapabilities } from './capabilities.js';
import { deviceNumbers } from './device-numbers.js';
import { runtimeDefaultSeccomp, type SeccompProfile } from './seccomp-default.js';
import { DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from './spec.js';
import type { OciSpec } from './spec-types.js';

const hasAppArmor = (): boolean => existsSync('/sys/kernel/security/apparmor');
const hasSelinux = (): boolean => existsSync('/sys/fs/selinux/enforce');

type SeccompChoice = { kind: 'unconfined' } | { kind: 'default' } | { kind: 'localhost'; path: string };

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

const OCI_SECCOMP_KEYS = ['defaultAction', 'defaultErrnoRet', 'architectures', 'flags', 'listenerPath', 'listenerMetadata', 'syscalls'];

export function loadLocalhostSeccomp(path: string): SeccompProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw notFound(`seccomp profile ${path}: ${(err as Error).message}`);
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw invalidArgument(`seccomp profile ${path} is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed.defaultAction !== 'string') throw invalidArgument(`seccomp profile ${path} has no defaultAction`);
  // Docker-format profiles carry extra keys (archMap, includes/excludes) runc does not know.
  const profile: Record<string, unknown> = {};
  for (const key of OCI_SECCOMP_KEYS) if (parsed[key] !== undefined) profile[key] = parsed[key];
  return profile as unknown as SeccompProfile;
}

/** Every device node of the host, for privileged containers (as other runtimes give them). */
function hostDevices(): NonNullable<OciSpec['linux']['devices']> {
  const devices: NonNullable<OciSpec['linux']['devices']> = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!['pts', 'shm', 'mqueue', 'fd'].includes(entry.name) || dir !== '/dev') walk(path);
        continue;
      }
      if (!entry.isCharacterDevice() && !entry.isBlockDevice()) continue;
      if (path === '/dev/console' || path === '/dev/ptmx') continue;
      const st = statSync(path, { bigint: true });
      const { major, minor } = deviceNumbers(st.rdev);
      devices.push({ path, type: entry.isCharacterDevice() ? 'c' : 'b', major, minor, fileMode: Number(st.mode & 0o777n), uid: 0, gid: 0 });
    }
  };
  try {
    walk('/dev');
  } catch {
    // A device that vanished while listing is not worth failing a container for.
  }
  return devices;
}

export interface SecurityInput {
  context: LinuxContainerSecurityContext | undefined;
  sandboxPrivileged: boolean;
}

/** Applies a container's security context to its spec: capabilities, privilege, seccomp, paths. */
export function applySecurityContext(spec: OciSpec, input: SecurityInput): void {
  const sc = input.context;
  if (sc?.selinuxOptions && (sc.selinuxOptions.user || sc.selinuxOptions.role || sc.selinuxOptions.type || sc.selinuxOptions.level) && !hasSelinux()) {
    throw invalidArgument('SELinux options were given but SELinux is not enabled on this node');
  }
  const apparmorLocal = sc?.apparmor?.profileType === SecurityProfile_ProfileType.Localhost
    || (!!sc?.apparmorProfile && !['', 'unconfined', 'runtime/default'].includes(sc.apparmorProfile));
  if (apparmorLocal && !hasAppArmor()) {
    throw invalidArgument('an AppArmor profile was given but AppArmor is not enabled on this node');
  }
  const privileged = sc?.privileged ?? false;
  if (privileged && !input.sandboxPrivileged) {
    throw invalidArgument('a privileged container needs a privileged pod sandbox');
  }
  const process = spec.process;
  if (privileged) {
    const all = boundingCapabilities();
    process.capabilities = { bounding: all, effective: all, permitted: all };
    spec.linux.maskedPaths = [];
    spec.linux.readonlyPaths = [];
    spec.linux.devices = hostDevices();
    spec.linux.resources = { ...spec.linux.resources, devices: [{ allow: true, access: 'rwm' }] };
    for (const mount of spec.mounts) {
      if (mount.type === 'sysfs' || mount.type === 'cgroup') mount.options = (mount.options ?? []).filter((o) => o !== 'ro').concat('rw');
    }
  } else {
    const caps = resolveCapabilities(DEFAULT_CAPABILITIES, sc?.capabilities?.addCapabilities ?? [], sc?.capabilities?.dropCapabilities ?? []);
    const ambient = (sc?.capabilities?.addAmbientCapabilities ?? []).map(normalizeCapability);
    for (const c of ambient) if (!caps.includes(c)) caps.push(c);
    process.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: ambient.length ? ambient : undefined, ambient: ambient.length ? ambient : undefined };
    if (sc?.maskedPaths.length) spec.linux.maskedPaths = sc.maskedPaths;
    else spec.linux.maskedPaths = DEFAULT_MASKED_PATHS;
    if (sc?.readonlyPaths.length) spec.linux.readonlyPaths = sc.readonlyPaths;
    else spec.linux.readonlyPaths = DEFAULT_READONLY_PATHS;
  }
  process.noNewPrivileges = sc?.noNewPrivs ?? false;

  // Privileged containers ignore seccomp, as in every other runtime; the profile is still checked.
  const choice = seccompChoice(sc?.seccomp, sc?.seccompProfilePath ?? '');
  if (choice.kind === 'localhost') {
    const profile = loadLocalhostSeccomp(choice.path);
    if (!privileged) spec.linux.seccomp = profile;
  } else if (choice.kind === 'default' && !privileged) {
    spec.linux.seccomp = runtimeDefaultSeccomp(process.capabilities!.effective);
  }
}
