import { existsSync, readFileSync } from 'node:fs';
import { cgroupHost } from './cgroup-host.js';
import { capabilitiesOfMask } from './spec/capabilities.js';
import type { NodeFacts } from './spec/types.js';

let cached: Omit<NodeFacts, 'minOomScoreAdj'> | undefined;

/**
 * The node's facts the spec builder needs, read once per process: cgroup version and
 * controllers, the capabilities cricket may hand out (its bounding set: a host may withhold some,
 * and asking runc for more fails), and whether AppArmor and SELinux are there.
 */
export function nodeFacts(minOomScoreAdj: number): NodeFacts {
  if (!cached) {
    const cgroups = cgroupHost();
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapBnd:'));
    cached = {
      cgroupVersion: cgroups.version,
      hugetlb: cgroups.hugetlb,
      swap: cgroups.swap,
      capabilities: capabilitiesOfMask(BigInt(`0x${line?.split(/\s+/)[1] ?? '0'}`)),
      apparmor: existsSync('/sys/kernel/security/apparmor'),
      selinux: existsSync('/sys/fs/selinux/enforce'),
    };
  }
  return { ...cached, minOomScoreAdj };
}
