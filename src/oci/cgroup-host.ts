import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP2_MAGIC = 0x63677270;
export const CGROUP_ROOT = '/sys/fs/cgroup';

export interface CgroupHost {
  version: 1 | 2;
  hugetlb: boolean;
  swap: boolean;
  /** Where each v1 controller is mounted (cpu and cpuacct may be apart or together). */
  controllerDir(controller: string): string;
}

let cached: CgroupHost | undefined;

/** What this host's cgroups offer, read once: limits it cannot enforce are left out, not faked. */
export function cgroupHost(): CgroupHost {
  if (cached) return cached;
  const v2 = (() => {
    try {
      return statfsSync(CGROUP_ROOT).type === CGROUP2_MAGIC;
    } catch {
      return false;
    }
  })();
  if (v2) {
    const controllers = readFileSync(join(CGROUP_ROOT, 'cgroup.controllers'), 'utf8').split(/\s+/);
    cached = {
      version: 2,
      hugetlb: controllers.includes('hugetlb'),
      swap: existsSync(join(CGROUP_ROOT, 'init.scope', 'memory.swap.max')) || existsSync('/proc/swaps'),
      controllerDir: () => CGROUP_ROOT,
    };
  } else {
    // Asked for on every stats reading: each controller's directory is joined once.
    const controllerDirs = new Map<string, string>();
    cached = {
      version: 1,
      hugetlb: existsSync(join(CGROUP_ROOT, 'hugetlb')),
      swap: existsSync(join(CGROUP_ROOT, 'memory', 'memory.memsw.limit_in_bytes')),
      controllerDir: (controller) => controllerDirs.get(controller) ?? controllerDirs.set(controller, join(CGROUP_ROOT, controller)).get(controller)!,
    };
  }
  return cached;
}

/**
 * A cgroup's directory under one v1 controller, or in the v2 tree (where the controller is not
 * named). The path is normalized against "/" so that it cannot climb out of the controller's.
 */
export function cgroupDir(controller: string, cgroupsPath: string): string {
  return `${cgroupHost().controllerDir(controller)}${join('/', cgroupsPath)}`;
}
