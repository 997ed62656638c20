/**
 * cricket's RuntimeDefault seccomp profile: everything is allowed except system calls that reach
 * past a container's boundary (kernel modules, clocks, reboot, keyrings, tracing, new namespaces
 * and mounts). A group is allowed again when the container holds the capability that makes the
 * call legitimate, so that, e.g., a container given CAP_SYS_ADMIN may still mount.
 */
interface DeniedGroup {
  /** The capability that lifts the denial; undefined: always denied. */
  unlessCapability?: string;
  syscalls: string[];
}

const DENIED: DeniedGroup[] = [
  { syscalls: ['kexec_load', 'kexec_file_load', 'create_module', 'get_kernel_syms', 'query_module', 'nfsservctl', 'uselib', 'ustat', 'sysfs', '_sysctl', 'vm86', 'vm86old', 'lookup_dcookie', 'userfaultfd'] },
  { unlessCapability: 'CAP_SYS_ADMIN', syscalls: ['mount', 'umount', 'umount2', 'pivot_root', 'unshare', 'setns', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree', 'mount_setattr', 'quotactl', 'quotactl_fd', 'swapon', 'swapoff', 'bpf', 'perf_event_open', 'fanotify_init', 'name_to_handle_at', 'open_by_handle_at', 'lookup_dcookie', 'add_key', 'request_key', 'keyctl', 'setdomainname', 'sethostname', 'clone3'] },
  { unlessCapability: 'CAP_SYS_MODULE', syscalls: ['init_module', 'finit_module', 'delete_module'] },
  { unlessCapability: 'CAP_SYS_BOOT', syscalls: ['reboot'] },
  { unlessCapability: 'CAP_SYS_TIME', syscalls: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'adjtimex', 'clock_adjtime', 'clock_adjtime64'] },
  { unlessCapability: 'CAP_SYS_PTRACE', syscalls: ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd'] },
  { unlessCapability: 'CAP_SYS_PACCT', syscalls: ['acct'] },
  { unlessCapability: 'CAP_SYS_RAWIO', syscalls: ['ioperm', 'iopl'] },
  { unlessCapability: 'CAP_SYS_NICE', syscalls: ['get_mempolicy', 'set_mempolicy', 'mbind', 'move_pages'] },
];

export interface SeccompProfile {
  defaultAction: string;
  architectures?: string[];
  syscalls?: { names: string[]; action: string; errnoRet?: number; args?: unknown[] }[];
}

const EPERM = 1;

export function runtimeDefaultSeccomp(capabilities: readonly string[]): SeccompProfile {
  const held = new Set(capabilities);
  const denied = new Set<string>();
  for (const group of DENIED) {
    if (group.unlessCapability && held.has(group.unlessCapability)) continue;
    for (const name of group.syscalls) denied.add(name);
  }
  // clone3 cannot be filtered by its flags (they sit behind a pointer): answer ENOSYS so that
  // libc falls back to clone. sethostname is left to the capability check, which already
  // refuses it without CAP_SYS_ADMIN.
  denied.delete('clone3');
  denied.delete('sethostname');
  denied.delete('setdomainname');
  const syscalls: NonNullable<SeccompProfile['syscalls']> = [
    { names: [...denied].sort(), action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
  ];
  if (!held.has('CAP_SYS_ADMIN')) syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls,
  };
}
