// How long the no-op cgroup moves ahead of runc waited: the grace periods taken off runc's path.
import { Histogram } from 'prom-client';
import type { CgroupLockPrimer } from '../oci/cgroup-lock-primer.js';
import { registry } from './registry.js';

const primeSeconds = new Histogram({
  name: 'cricket_cgroup_lock_prime_duration_seconds',
  help: 'How long a no-op cgroup move of the daemon, made ahead of runc, waited for the kernel cgroup migration lock',
  buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
  registers: [registry],
});

/** Observes the primer's waits; returns the undo. */
export function observeCgroupLockPrimes(primer: CgroupLockPrimer): () => void {
  primer.onPrimed = (seconds) => primeSeconds.observe(seconds);
  return () => {
    primer.onPrimed = undefined;
  };
}
