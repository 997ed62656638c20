import { join } from 'node:path';

/** The files every container of a pod shares: /etc/resolv.conf, /etc/hostname, /etc/hosts. */
export interface PodFiles {
  resolvConf: string;
  hostname: string;
  hosts: string;
}

export function podFilePaths(sandboxDir: string): PodFiles {
  return {
    resolvConf: join(sandboxDir, 'resolv.conf'),
    hostname: join(sandboxDir, 'hostname'),
    hosts: join(sandboxDir, 'hosts'),
  };
}
