import type { SandboxRecord } from '../store/types.js';

/**
 * cgroupfs paths: under the parent kubelet gave the pod, or under /cricket for pods started by
 * hand, so that everything cricket starts can be found (and is gone after removal).
 */
export function podCgroupParent(record: Pick<SandboxRecord, 'cgroupParent'>): string {
  return record.cgroupParent || '/cricket';
}

export function sandboxCgroupsPath(record: SandboxRecord): string {
  return `${podCgroupParent(record)}/${record.id}`;
}

export function containerCgroupsPath(record: SandboxRecord, containerId: string): string {
  return `${podCgroupParent(record)}/${containerId}`;
}
