import { isIP } from 'node:net';

/**
 * The pod's addresses from a CNI result, without prefix length, IPv4 before IPv6, otherwise
 * in the plugin's order (the first is the primary one).
 *
 * Results of spec 0.3.0 and later list `ips` with an optional index into `interfaces`; when
 * such indexes are present only addresses on the pod's interface (`ifName` with a sandbox)
 * count, so a host-side or loopback address never becomes the pod IP. Spec 0.1/0.2 results
 * carry `ip4`/`ip6` objects instead.
 */
export function podIpsFromResult(result: unknown, ifName = 'eth0'): string[] {
  if (!isObject(result)) return [];
  const candidates: string[] = [];
  if (Array.isArray(result.ips)) {
    const interfaces = Array.isArray(result.interfaces) ? result.interfaces : [];
    const onPodIf = (idx: unknown): boolean => {
      if (typeof idx !== 'number') return false;
      const intf: unknown = interfaces[idx];
      return isObject(intf) && intf.name === ifName && typeof intf.sandbox === 'string' && intf.sandbox !== '';
    };
    const ips = result.ips.filter(isObject);
    const pinned = ips.filter((ip) => onPodIf(ip.interface));
    for (const ip of pinned.length > 0 ? pinned : ips) {
      if (typeof ip.address === 'string') candidates.push(ip.address);
    }
  } else {
    for (const key of ['ip4', 'ip6']) {
      const block = result[key];
      if (isObject(block) && typeof block.ip === 'string') candidates.push(block.ip);
    }
  }
  const v4: string[] = [];
  const v6: string[] = [];
  for (const cidr of candidates) {
    const addr = cidr.split('/')[0] ?? '';
    const family = isIP(addr);
    if (family === 0 || isLoopback(addr)) continue;
    const list = family === 4 ? v4 : v6;
    if (!list.includes(addr)) list.push(addr);
  }
  return [...v4, ...v6];
}

function isLoopback(addr: string): boolean {
  return addr.startsWith('127.') || addr === '::1';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
