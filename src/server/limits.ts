import type { MapLimits } from './field-checks.js';

/**
 * Bounds on request sizes. Each is far above what kubelet sends and low enough that one request
 * cannot make cricket or the tools it runs (runc, conmon, CNI plugins) spend unbounded memory.
 */
export const LIMITS = {
  /** Pod and container names, namespaces, pod uids (Kubernetes allows 253). */
  name: 253,
  hostname: 64,
  path: 4096,
  /** One argument or environment value: the kernel's MAX_ARG_STRLEN. */
  arg: 131_072,
  /** Command plus args, or ExecSync/Exec cmd. */
  args: 4096,
  /** Sum of command, args and environment: below the kernel's usual ARG_MAX of 2 MiB. */
  argBytes: 1_048_576,
  envs: 4096,
  mounts: 256,
  devices: 256,
  cdiDevices: 256,
  portMappings: 1024,
  ports: 64,
  dnsEntries: 32,
  dnsEntry: 256,
  capabilities: 64,
  capability: 64,
  paths: 256,
  supplementalGroups: 4096,
  idMappings: 340,
  hugepageLimits: 16,
  image: 4096,
  secret: 65_536,
  short: 256,
} as const;

/** Labels (Kubernetes: 63-character values) and annotations (Kubernetes: 256 KiB in all). */
export const LABELS: MapLimits = { entries: 1024, key: 1024, value: 65_536, total: 262_144 };
export const ANNOTATIONS: MapLimits = { entries: 1024, key: 1024, value: 262_144, total: 524_288 };
export const SELECTOR: MapLimits = { entries: 256, key: 1024, value: 1024, total: 65_536 };
export const SYSCTLS: MapLimits = { entries: 256, key: 256, value: 4096, total: 65_536 };
export const UNIFIED: MapLimits = { entries: 256, key: 256, value: 4096, total: 65_536 };
