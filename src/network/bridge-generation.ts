import { readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { isErrno } from '../errors.js';

/** Linux interface names are at most 15 bytes. */
const IFNAMSIZ = 15;
/** Where host-local keeps reservations when the network names no dataDir. */
const HOST_LOCAL_DEFAULT_DIR = '/var/lib/cni/networks';

/**
 * The bridge for the embedded network after a pod CIDR change while pods still hold addresses
 * on the current one: the bridge plugin allows one IPv4 gateway per bridge, and replacing it
 * would cut those pods off. `cbr0` → `cbr0-1` → `cbr0-2`…, cut to fit IFNAMSIZ.
 */
export function nextBridgeName(base: string, current: string): string {
  const m = /-(\d+)$/.exec(current);
  const generation = current !== base && m ? Number(m[1]) + 1 : 1;
  const suffix = `-${generation}`;
  return `${base.slice(0, IFNAMSIZ - suffix.length)}${suffix}`;
}

/** True when host-local holds an address for some pod of `network` (files named by the address). */
export function hasIpReservations(dataDir: string | undefined, network: string): boolean {
  let names: string[];
  try {
    names = readdirSync(path.join(dataDir ?? HOST_LOCAL_DEFAULT_DIR, network));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
  return names.some((n) => isIP(n) !== 0);
}
