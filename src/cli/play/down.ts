// `cricket play --down FILE`: the pods of a manifest stopped and removed, with their volumes and logs.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { StopContainerRequest, ListPodSandboxRequest, type ListPodSandboxResponse, type PodSandbox } from '../../gen/runtime/v1/api.js';
import type { Cri } from '../cri-client.js';
import { listContainers } from '../query/lookup.js';
import { LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID } from './cri-requests.js';
import type { Manifest } from './manifest.js';
import { removeSandbox } from './run-pod.js';
import { removePodDir } from './volumes.js';

export async function sandboxesOf(cri: Cri, namespace: string, name: string): Promise<PodSandbox[]> {
  const res = await cri.call<ListPodSandboxRequest, ListPodSandboxResponse>(cri.runtime, 'listPodSandbox', ListPodSandboxRequest.fromPartial({
    filter: { labelSelector: { [LABEL_POD_NAME]: name, [LABEL_POD_NAMESPACE]: namespace } },
  }));
  return res.items;
}

export async function playDown(manifest: Manifest, cri: Cri, podsDir: string, logRoot: string, say: (line: string) => void, gracePeriod?: number): Promise<void> {
  for (const { pod } of manifest.pods) {
    const { name, namespace } = pod.metadata;
    const sandboxes = await sandboxesOf(cri, namespace, name);
    if (!sandboxes.length) say(`pod ${namespace}/${name}: not running`);
    // As kubelet does: each container gets its grace period before the sandbox goes.
    const grace = gracePeriod ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    for (const s of sandboxes) {
      const containers = await listContainers(cri, s.id);
      await Promise.all(containers.map((c) => cri.call(cri.runtime, 'stopContainer', StopContainerRequest.fromPartial({ containerId: c.id, timeout: BigInt(grace) }), (grace + 60) * 1000)));
      await removeSandbox(cri, s.id);
      const uid = s.labels[LABEL_POD_UID] ?? s.metadata?.uid ?? '';
      if (uid) {
        await removePodDir(podsDir, uid);
        rmSync(join(logRoot, `${namespace}_${name}_${uid}`), { recursive: true, force: true });
      }
      say(`pod ${namespace}/${name}: removed sandbox ${s.id.slice(0, 12)}`);
    }
  }
}
