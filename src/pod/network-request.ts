import type { PodNetworkRequest } from '../network/types.js';
import type { SandboxRecord } from '../store/types.js';

/** What CNI ADD, CHECK and DEL need to know about a pod, from its record. */
export function podNetworkRequest(record: SandboxRecord): PodNetworkRequest {
  return {
    podId: record.id,
    podName: record.name,
    podNamespace: record.namespace,
    podUid: record.uid,
    netnsPath: record.netnsPath,
    portMappings: record.portMappings,
    // cricket-mount makes the netns of a pod without a user namespace, with `lo` up; with one,
    // pause makes it inside that namespace.
    loopbackUp: record.netnsPath !== '' && !record.userns,
  };
}
