import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Cri } from '../cri-client.js';
import { LABEL_PLAYED, LABEL_POD_UID } from '../play/cri-requests.js';
import { removeSandbox } from '../play/run-pod.js';
import { removePodDir } from '../play/volumes.js';
import { StopPodSandboxRequest } from '../../gen/runtime/v1/api.js';
import { resolvePod } from './lookup.js';

export const STOP_USAGE = `usage: cricket stop POD...

Stops pods (by id, id prefix, NAME or NAMESPACE/NAME): their containers get SIGTERM, then SIGKILL
after their grace period, and the pod's network goes. The pod stays listed until cricket rm.

options:
  --socket PATH      CRI socket (default /run/cricket/cricket.sock)
  --config FILE      config file naming the socket (default /etc/cricket/config.toml)
  -h, --help         this text
`;

export const RM_USAGE = `usage: cricket rm POD...

Stops and removes pods (by id, id prefix, NAME or NAMESPACE/NAME) with their containers. For pods
started by cricket play, their volumes and log directory go too.

options:
  --pods-dir DIR     cricket play's volume directory (default /var/lib/cricket-play/pods)
  --log-root DIR     cricket play's log root (default /var/log/pods)
  --socket PATH      CRI socket (default /run/cricket/cricket.sock)
  --config FILE      config file naming the socket (default /etc/cricket/config.toml)
  -h, --help         this text
`;

export async function stopCommand(cri: Cri, refs: string[]): Promise<string> {
  let out = '';
  for (const ref of refs) {
    const pod = await resolvePod(cri, ref);
    await cri.call(cri.runtime, 'stopPodSandbox', StopPodSandboxRequest.fromPartial({ podSandboxId: pod.id }));
    out += `stopped ${pod.metadata?.namespace}/${pod.metadata?.name} ${pod.id.slice(0, 13)}\n`;
  }
  return out;
}

export async function rmCommand(cri: Cri, refs: string[], flags: Record<string, string>): Promise<string> {
  let out = '';
  for (const ref of refs) {
    const pod = await resolvePod(cri, ref);
    await removeSandbox(cri, pod.id);
    const uid = pod.labels[LABEL_POD_UID];
    if (pod.labels[LABEL_PLAYED] === 'true' && uid) {
      await removePodDir(flags['pods-dir'] ?? '/var/lib/cricket-play/pods', uid);
      rmSync(join(flags['log-root'] ?? '/var/log/pods', `${pod.metadata?.namespace}_${pod.metadata?.name}_${uid}`), { recursive: true, force: true });
    }
    out += `removed ${pod.metadata?.namespace}/${pod.metadata?.name} ${pod.id.slice(0, 13)}\n`;
  }
  return out;
}
