// `cricket play --watch` on pods an earlier play started: found by the kubelet labels play puts on
// its sandboxes, taken over as they are (nothing restarted or rewritten) so that restarts and
// probes carry on under the new watcher.
import { join } from 'node:path';
import { PodSandboxState, PodSandboxStatusRequest, type PodSandbox, type PodSandboxStatusResponse } from '../../gen/runtime/v1/api.js';
import { listContainers } from '../query/lookup.js';
import { Backoff } from './backoff.js';
import { LABEL_CONTAINER_NAME, LABEL_PLAYED, LABEL_POD_UID, podSandboxConfig, type PodContext } from './cri-requests.js';
import type { Manifest, PlayPod } from './manifest.js';
import { createAndStart, podLabel, removeContainer, type PlayOptions, type PlayedContainer, type PlayedPod } from './run-pod.js';
import { prepareVolumes } from './volumes.js';

/** The sandbox an earlier play made for this pod and that can be taken over, if any. */
export function playedSandbox(sandboxes: PodSandbox[]): PodSandbox | undefined {
  return sandboxes.find((s) => s.state === PodSandboxState.SANDBOX_READY && s.labels[LABEL_PLAYED] === 'true' && !!s.labels[LABEL_POD_UID]);
}

export async function reattachPod(manifest: Manifest, p: PlayPod, sandbox: PodSandbox, opts: PlayOptions): Promise<PlayedPod> {
  const { cri } = opts;
  const say = (line: string) => opts.say(`${podLabel(p)}: ${line}`);
  const { name, namespace } = p.pod.metadata;
  const uid = sandbox.labels[LABEL_POD_UID]!;
  const volumes = await prepareVolumes(p, manifest, opts.podsDir, uid, true);
  const ctx: PodContext = { p, uid, logDirectory: join(opts.logRoot, `${namespace}_${name}_${uid}`), cgroupParent: opts.cgroupParent, volumes };
  const status = await cri.call<PodSandboxStatusRequest, PodSandboxStatusResponse>(cri.runtime, 'podSandboxStatus', PodSandboxStatusRequest.fromPartial({ podSandboxId: sandbox.id }));
  const ip = status.status?.network?.ip ?? '';
  say(`sandbox ${sandbox.id.slice(0, 12)} taken over, IP ${ip || '(host network)'}`);
  const pod: PlayedPod = {
    p, ctx, env: { manifest, podIP: ip }, sandboxId: sandbox.id, sandboxConfig: podSandboxConfig(ctx), ip,
    containers: new Map(), backoff: new Backoff(opts.backoff.initialMs, opts.backoff.maxMs),
  };
  const instances = await listContainers(cri, sandbox.id);
  for (const spec of p.pod.spec!.containers) {
    const mine = instances
      .filter((c) => (c.labels[LABEL_CONTAINER_NAME] ?? c.metadata?.name) === spec.name)
      .sort((a, b) => (b.metadata?.attempt ?? 0) - (a.metadata?.attempt ?? 0));
    let played: PlayedContainer;
    if (mine.length) {
      played = { spec, id: mine[0]!.id, attempt: mine[0]!.metadata?.attempt ?? 0, previous: mine[1]?.id };
      // As after a restart: only the newest instance and the one before it are kept.
      for (const old of mine.slice(2)) await removeContainer(cri, old.id).catch(() => undefined);
    } else {
      // The earlier play stopped before this container was made.
      played = { spec, id: await createAndStart(cri, pod, spec, 0), attempt: 0 };
    }
    pod.containers.set(spec.name, played);
  }
  return pod;
}
