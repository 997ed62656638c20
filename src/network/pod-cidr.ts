import { isIPv4, isIPv6 } from 'node:net';
import { invalidArgument } from '../errors.js';

/** kubelet sends at most one range per family (dual-stack); anything longer is not a pod CIDR. */
const MAX_VALUE_LENGTH = 256;
const MAX_RANGES = 2;
/** A range must leave room for the gateway and at least one pod. */
const MAX_PREFIX = { 4: 30, 6: 126 } as const;
/** A pod range wider than this would swallow routes that must stay on the node. */
const MIN_PREFIX = { 4: 8, 6: 16 } as const;

export type IpFamily = 4 | 6;

export interface PodCidr {
  /** Canonical text, e.g. 10.244.1.0/24 or fd00:10:244:1::/64. */
  cidr: string;
  family: IpFamily;
}

/**
 * The node's pod CIDR(s) as kubelet sends them in UpdateRuntimeConfig: one range, or two of
 * different families separated by a comma (dual-stack). Empty input gives an empty list. A range
 * with host bits set is refused, since host-local would hand out addresses from another range.
 */
export function parsePodCidrs(value: string): PodCidr[] {
  if (value.length > MAX_VALUE_LENGTH) throw invalidArgument(`pod CIDR is longer than ${MAX_VALUE_LENGTH} characters`);
  const parts = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length > MAX_RANGES) throw invalidArgument(`pod CIDR "${value}" has more than ${MAX_RANGES} ranges`);
  const ranges = parts.map(parseOne);
  if (ranges.length === 2 && ranges[0]!.family === ranges[1]!.family) {
    throw invalidArgument(`pod CIDR "${value}": two ranges must be one IPv4 and one IPv6`);
  }
  return ranges;
}

/** Default routes a pod needs for the families its ranges cover, IPv4 first (as containerd gives `.Routes`). */
export function routesFor(ranges: readonly PodCidr[]): string[] {
  const routes: string[] = [];
  if (ranges.some((r) => r.family === 4)) routes.push('0.0.0.0/0');
  if (ranges.some((r) => r.family === 6)) routes.push('::/0');
  return routes;
}

function parseOne(text: string): PodCidr {
  const slash = text.indexOf('/');
  const address = slash < 0 ? '' : text.slice(0, slash);
  const bits = slash < 0 ? '' : text.slice(slash + 1);
  const family: IpFamily | 0 = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0;
  if (family === 0 || !/^\d{1,3}$/.test(bits)) throw invalidArgument(`pod CIDR "${text}" is not an address range`);
  const prefix = Number(bits);
  if (prefix < MIN_PREFIX[family] || prefix > MAX_PREFIX[family]) {
    throw invalidArgument(`pod CIDR "${text}": prefix length must be ${MIN_PREFIX[family]}-${MAX_PREFIX[family]} for IPv${family}`);
  }
  const value = family === 4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address);
  const width = family === 4 ? 32 : 128;
  const hostBits = (1n << BigInt(width - prefix)) - 1n;
  if ((value & hostBits) !== 0n) throw invalidArgument(`pod CIDR "${text}" has host bits set`);
  return { cidr: `${family === 4 ? address : formatIpv6(value)}/${prefix}`, family };
}

function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

/** Parses an address node's isIPv6 accepted (with `::` and a dotted IPv4 tail, no zone). */
function ipv6ToBigInt(address: string): bigint {
  if (address.includes('%')) throw invalidArgument(`pod CIDR address ${address} must not carry a zone`);
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToBigInt(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const left = groups(head);
  const right = groups(rest);
  const missing = 8 - left.length - right.length;
  const all = rest === undefined ? left : [...left, ...Array<string>(missing).fill('0'), ...right];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

/** RFC 5952 text: lower case, longest run of zero groups (two or more) as `::`. */
function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
