import { invalidArgument } from '../../errors.js';

/** Linux capabilities by bit number (linux/capability.h). */
export const CAPABILITIES_BY_BIT: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];
const KNOWN = new Set(CAPABILITIES_BY_BIT);

/** The capabilities whose bits are set in a mask such as /proc/<pid>/status' CapBnd. */
export function capabilitiesOfMask(mask: bigint): string[] {
  return CAPABILITIES_BY_BIT.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** "net_admin", "NET_ADMIN" and "CAP_NET_ADMIN" all name CAP_NET_ADMIN; anything else is refused. */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!KNOWN.has(full)) throw invalidArgument(`unknown capability "${name}"`);
  return full;
}

/**
 * The capability set from defaults and a CRI add/drop request, applied as other runtimes do:
 * "ALL" in drop starts from nothing, "ALL" in add grants everything the node allows, then single
 * adds, then single drops.
 */
export function resolveCapabilities(
  defaults: readonly string[],
  add: readonly string[],
  drop: readonly string[],
  nodeAllows: readonly string[],
): string[] {
  const dropAll = drop.some((c) => c.toUpperCase() === 'ALL');
  const addAll = add.some((c) => c.toUpperCase() === 'ALL');
  const caps = new Set<string>(dropAll ? [] : defaults);
  if (addAll) for (const c of nodeAllows) caps.add(c);
  for (const c of add) if (c.toUpperCase() !== 'ALL') caps.add(normalizeCapability(c));
  for (const c of drop) if (c.toUpperCase() !== 'ALL') caps.delete(normalizeCapability(c));
  return [...caps];
}
