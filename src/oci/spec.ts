import type { OciMount, OciNamespace, OciSpec } from './spec-types.js';

/** The capabilities a container gets unless its security context says otherwise (as containerd). */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const DEFAULT_MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
];

export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

export interface SpecInput {
  rootfs: string;
  readonlyRootfs: boolean;
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Namespaces besides mount, which every container gets anew. */
  namespaces: OciNamespace[];
  cgroupsPath: string;
  /** Only for a container that owns its UTS namespace (the pause process). */
  hostname?: string;
  mounts: OciMount[];
  /** /dev/shm for the pod: a shared tmpfs directory bound in, or a private tmpfs. */
  shmPath?: string;
  terminal: boolean;
  oomScoreAdj?: number;
  sysctl?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A complete config.json with the defaults every pod container gets. */
export function buildSpec(input: SpecInput): OciSpec {
  const mounts = defaultMounts();
  mounts.push(
    input.shmPath
      ? { destination: '/dev/shm', type: 'bind', source: input.shmPath, options: ['rbind', 'rprivate', 'rw'] }
      : { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  );
  // Later mounts shadow earlier ones with the same destination, so a CRI mount wins over a default.
  const overridden = new Set(input.mounts.map((m) => m.destination));
  const all = [...mounts.filter((m) => !overridden.has(m.destination)), ...input.mounts];
  const caps = [...DEFAULT_CAPABILITIES];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: input.terminal,
      user: { uid: input.uid, gid: input.gid, additionalGids: input.additionalGids.length ? input.additionalGids : undefined },
      args: input.args,
      env: input.env,
      cwd: input.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: false,
      oomScoreAdj: input.oomScoreAdj,
    },
    root: { path: input.rootfs, readonly: input.readonlyRootfs },
    hostname: input.hostname,
    mounts: all,
    annotations: input.annotations,
    linux: {
      namespaces: [{ type: 'mount' }, ...input.namespaces],
      cgroupsPath: input.cgroupsPath,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      sysctl: input.sysctl && Object.keys(input.sysctl).length ? input.sysctl : undefined,
      maskedPaths: DEFAULT_MASKED_PATHS,
      readonlyPaths: DEFAULT_READONLY_PATHS,
    },
  };
}
