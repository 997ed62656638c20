import { readFile, writeFile } from 'node:fs/promises';
import { podFilePaths, type PodFiles } from '../pod/files.js';

export interface DnsSettings {
  servers: string[];
  searches: string[];
  options: string[];
}


export function renderResolvConf(dns: DnsSettings): string {
  const lines: string[] = [];
  if (dns.searches.length) lines.push(`search ${dns.searches.join(' ')}`);
  for (const server of dns.servers) lines.push(`nameserver ${server}`);
  if (dns.options.length) lines.push(`options ${dns.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

export function renderHosts(hostname: string, ips: string[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const ip of ips) lines.push(`${ip}\t${hostname}`);
  return lines.join('\n') + '\n';
}

/**
 * Writes the pod's files. Without DNS settings the pod gets the node's resolv.conf, as a
 * hostNetwork pod or a pod with dnsPolicy Default expects.
 */
export async function writePodFiles(
  sandboxDir: string,
  hostname: string,
  dns: DnsSettings | undefined,
  ips: string[],
): Promise<PodFiles> {
  const files = podFilePaths(sandboxDir);
  const resolv = dns && (dns.servers.length || dns.searches.length || dns.options.length)
    ? renderResolvConf(dns)
    : await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  await Promise.all([
    writeFile(files.resolvConf, resolv, { mode: 0o644 }),
    writeFile(files.hostname, `${hostname}\n`, { mode: 0o644 }),
    writeFile(files.hosts, renderHosts(hostname, ips), { mode: 0o644 }),
  ]);
  return files;
}
