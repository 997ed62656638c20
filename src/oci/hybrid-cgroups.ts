import { readFileSync, statfsSync } from 'node:fs';
import { basename } from 'node:path';
import { CGROUP_ROOT } from './cgroup-host.js';

const CGROUP2_MAGIC = 0x63677270;
const UNIFIED = `${CGROUP_ROOT}/unified`;

/**
 * A hybrid cgroup host (v1 controllers, a cgroup2 hierarchy at /sys/fs/cgroup/unified) whose
 * cgroup2 hierarchy holds a controller no v1 hierarchy took (here hugetlb). crun 1.8 refuses
 * to run any container there; runc ignores the cgroup2 side.
 */
export function unifiedHoldsControllers(): boolean {
  try {
    if (statfsSync(CGROUP_ROOT).type === CGROUP2_MAGIC || statfsSync(UNIFIED).type !== CGROUP2_MAGIC) return false;
    return readFileSync(`${UNIFIED}/cgroup.controllers`, 'utf8').trim() !== '';
  } catch {
    return false;
  }
}

/** crun is the runtime that cannot work on such a host unless the cgroup2 side is out of its sight. */
export function refusesHybridCgroups(binary: string): boolean {
  return basename(binary).startsWith('crun');
}
