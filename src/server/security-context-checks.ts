import { statSync } from 'node:fs';
import { invalidArgument } from '../errors.js';
import type {
  Capability,
  Int64Value,
  LinuxContainerResources,
  LinuxContainerSecurityContext,
  LinuxSandboxSecurityContext,
  NamespaceOption,
  SecurityProfile,
  SELinuxOption,
} from '../gen/runtime/v1/api.js';
import { checkAbsolute, checkCount, checkLine, checkStringMap, checkText, checkTexts, checkUnixId } from './field-checks.js';
import { LIMITS, UNIFIED } from './limits.js';

/** Checks of the Linux security settings and resources shared by pods and containers. */

function checkOptionalId(value: Int64Value | undefined, path: string): void {
  if (value) checkUnixId(value.value, path);
}

function checkGroups(groups: readonly bigint[], path: string): void {
  checkCount(groups, path, LIMITS.supplementalGroups);
  for (let i = 0; i < groups.length; i++) checkUnixId(groups[i]!, `${path}[${i}]`);
}

/** Largest seccomp profile cricket reads; Docker's default profile is about 20 KiB. */
const MAX_PROFILE_BYTES = 1_048_576;

/**
 * A localhost profile is read whole by the daemon: a FIFO would block it and /dev/zero would
 * never end, so only a regular file of bounded size is accepted. A missing file is left to the
 * reader, which answers NOT_FOUND.
 */
function checkProfileFile(file: string, path: string): void {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isFile()) throw invalidArgument(`${path} "${file}" is not a regular file`);
  if (st.size > MAX_PROFILE_BYTES) throw invalidArgument(`${path} "${file}" is larger than ${MAX_PROFILE_BYTES} bytes`);
}

function checkProfile(profile: SecurityProfile | undefined, path: string): void {
  if (!profile) return;
  checkText(profile.localhostRef, `${path}.localhost_ref`, LIMITS.path);
  if (profile.localhostRef.startsWith('/')) checkProfileFile(profile.localhostRef, `${path}.localhost_ref`);
}

/** The deprecated form: "localhost/<absolute path>". */
function checkLegacyProfile(value: string, path: string): void {
  checkText(value, path, LIMITS.path);
  if (value.startsWith('localhost/') && value.length > 'localhost/'.length) checkProfileFile(value.slice('localhost/'.length), path);
}

function checkSelinux(options: SELinuxOption | undefined, path: string): void {
  if (!options) return;
  for (const key of ['user', 'role', 'type', 'level'] as const) checkLine(options[key], `${path}.${key}`, LIMITS.short);
}

function checkNamespaces(options: NamespaceOption | undefined, path: string): void {
  if (!options) return;
  checkText(options.targetId, `${path}.target_id`, LIMITS.short);
  const userns = options.usernsOptions;
  if (userns) {
    checkCount(userns.uids, `${path}.userns_options.uids`, LIMITS.idMappings);
    checkCount(userns.gids, `${path}.userns_options.gids`, LIMITS.idMappings);
  }
}

function checkCapabilities(caps: Capability | undefined, path: string): void {
  if (!caps) return;
  checkTexts(caps.addCapabilities, `${path}.add_capabilities`, LIMITS.capabilities, LIMITS.capability);
  checkTexts(caps.dropCapabilities, `${path}.drop_capabilities`, LIMITS.capabilities, LIMITS.capability);
  checkTexts(caps.addAmbientCapabilities, `${path}.add_ambient_capabilities`, LIMITS.capabilities, LIMITS.capability);
}

export function checkSandboxSecurity(sc: LinuxSandboxSecurityContext | undefined, path: string): void {
  if (!sc) return;
  checkNamespaces(sc.namespaceOptions, `${path}.namespace_options`);
  checkSelinux(sc.selinuxOptions, `${path}.selinux_options`);
  checkOptionalId(sc.runAsUser, `${path}.run_as_user`);
  checkOptionalId(sc.runAsGroup, `${path}.run_as_group`);
  checkGroups(sc.supplementalGroups, `${path}.supplemental_groups`);
  checkProfile(sc.seccomp, `${path}.seccomp`);
  checkProfile(sc.apparmor, `${path}.apparmor`);
  checkLegacyProfile(sc.seccompProfilePath, `${path}.seccomp_profile_path`);
}

export function checkContainerSecurity(sc: LinuxContainerSecurityContext | undefined, path: string): void {
  if (!sc) return;
  checkCapabilities(sc.capabilities, `${path}.capabilities`);
  checkNamespaces(sc.namespaceOptions, `${path}.namespace_options`);
  checkSelinux(sc.selinuxOptions, `${path}.selinux_options`);
  checkOptionalId(sc.runAsUser, `${path}.run_as_user`);
  checkOptionalId(sc.runAsGroup, `${path}.run_as_group`);
  checkLine(sc.runAsUsername, `${path}.run_as_username`, LIMITS.short);
  checkGroups(sc.supplementalGroups, `${path}.supplemental_groups`);
  checkCount(sc.maskedPaths, `${path}.masked_paths`, LIMITS.paths);
  sc.maskedPaths.forEach((p, i) => checkAbsolute(p, `${path}.masked_paths[${i}]`));
  checkCount(sc.readonlyPaths, `${path}.readonly_paths`, LIMITS.paths);
  sc.readonlyPaths.forEach((p, i) => checkAbsolute(p, `${path}.readonly_paths[${i}]`));
  checkProfile(sc.seccomp, `${path}.seccomp`);
  checkProfile(sc.apparmor, `${path}.apparmor`);
  checkText(sc.apparmorProfile, `${path}.apparmor_profile`, LIMITS.path);
  checkLegacyProfile(sc.seccompProfilePath, `${path}.seccomp_profile_path`);
}

/** cgroup file names a "unified" entry may write: a plain name, never a path. */
const CGROUP_FILE = /^[a-z][a-z0-9_]*\.[A-Za-z0-9_.]+$/;

/**
 * Ranges the kernel takes (cfs period 1 ms..1 s, quota at least 1 ms, cpu shares 2..262144, which
 * the kernel would round a 1 up from and runc then reports as a failure) and the least memory a
 * container can start in (runc's init runs inside the limit; Docker's minimum): values outside
 * them fail inside runc as a cgroup write error instead of saying which field was wrong. 0 means
 * unset; quota and swap also take -1 (unlimited).
 */
const MIN_MEMORY = 6n * 1024n * 1024n;

function checkRange(value: bigint, path: string, ok: (v: bigint) => boolean, what: string): void {
  if (!ok(value)) throw invalidArgument(`${path} ${value} is outside ${what}`);
}

export function checkResources(r: LinuxContainerResources | undefined, path: string): void {
  if (!r) return;
  checkRange(r.cpuPeriod, `${path}.cpu_period`, (v) => v === 0n || (v >= 1000n && v <= 1_000_000n), '0 or 1000..1000000 µs');
  checkRange(r.cpuQuota, `${path}.cpu_quota`, (v) => v === 0n || v === -1n || v >= 1000n, '0, -1 or at least 1000 µs');
  checkRange(r.cpuShares, `${path}.cpu_shares`, (v) => v === 0n || (v >= 2n && v <= 262_144n), '0 or 2..262144');
  checkRange(r.memoryLimitInBytes, `${path}.memory_limit_in_bytes`, (v) => v === 0n || v >= MIN_MEMORY, `0 or at least ${MIN_MEMORY} bytes`);
  checkRange(r.memorySwapLimitInBytes, `${path}.memory_swap_limit_in_bytes`, (v) => v >= -1n, '-1 or more');
  // The kernel's memory+swap limit can never be below the memory limit it includes.
  if (r.memorySwapLimitInBytes > 0n && (r.memoryLimitInBytes === 0n || r.memorySwapLimitInBytes < r.memoryLimitInBytes)) {
    throw invalidArgument(`${path}.memory_swap_limit_in_bytes ${r.memorySwapLimitInBytes} needs a memory limit no larger than it (memory_limit_in_bytes ${r.memoryLimitInBytes})`);
  }
  checkRange(r.oomScoreAdj, `${path}.oom_score_adj`, (v) => v >= -1000n && v <= 1000n, '-1000..1000');
  checkLine(r.cpusetCpus, `${path}.cpuset_cpus`, LIMITS.short);
  checkLine(r.cpusetMems, `${path}.cpuset_mems`, LIMITS.short);
  checkCount(r.hugepageLimits, `${path}.hugepage_limits`, LIMITS.hugepageLimits);
  r.hugepageLimits.forEach((h, i) => checkLine(h.pageSize, `${path}.hugepage_limits[${i}].page_size`, 16));
  checkStringMap(r.unified, `${path}.unified`, UNIFIED);
  for (const key in r.unified) {
    if (!CGROUP_FILE.test(key)) throw invalidArgument(`${path}.unified key "${key.slice(0, 64)}" is not a cgroup file name`);
    checkLine(r.unified[key]!, `${path}.unified["${key}"]`, UNIFIED.value);
  }
}
