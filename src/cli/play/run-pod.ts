// One Pod through the CRI socket in kubelet's order: volumes, images, sandbox, init containers
// one by one (each must exit 0), then the app containers.
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container } from 'kubernetes-types/core/v1.js';
import {
  ContainerState, CreateContainerRequest, PodSandboxStatusRequest, RemoveContainerRequest, RemovePodSandboxRequest, RunPodSandboxRequest,
  StartContainerRequest, StopPodSandboxRequest, ContainerStatusRequest,
  type ContainerStatus, type ContainerStatusResponse, type CreateContainerResponse, type PodSandboxConfig, type PodSandboxStatusResponse, type RunPodSandboxResponse,
} from '../../gen/runtime/v1/api.js';
import type { Cri } from '../cri-client.js';
import { containerConfig, podSandboxConfig, type EnvContext, type PodContext } from './cri-requests.js';
import { ensureImage, verifyNonRoot } from './images.js';
import type { Manifest, PlayPod } from './manifest.js';
import { Backoff } from './backoff.js';
import { prepareVolumes, removePodDir } from './volumes.js';

export interface PlayOptions {
  cri: Cri;
  /** The CLI's own directory for pod volumes (emptyDir, configMap, secret files). */
  podsDir: string;
  /** Parent of the pods' log directories, /var/log/pods as kubelet's. */
  logRoot: string;
  cgroupParent: string;
  say: (line: string) => void;
  backoff: { initialMs: number; maxMs: number };
}

export interface PlayedContainer {
  spec: Container;
  id: string;
  attempt: number;
  /** The exited instance before this one, kept for `logs --previous`. */
  previous?: string;
}

export interface PlayedPod {
  p: PlayPod;
  ctx: PodContext;
  env: EnvContext;
  sandboxId: string;
  sandboxConfig: PodSandboxConfig;
  ip: string;
  /** App containers by name: the newest instance of each. */
  containers: Map<string, PlayedContainer>;
  backoff: Backoff;
  /** Set when the pod cannot go on (an init container failed under restartPolicy Never). */
  failed?: string;
}

export const podLabel = (p: PlayPod) => `pod ${p.pod.metadata.namespace}/${p.pod.metadata.name}`;

export function restartPolicy(p: PlayPod): 'Always' | 'OnFailure' | 'Never' {
  return (p.pod.spec?.restartPolicy as 'Always' | 'OnFailure' | 'Never' | undefined) ?? 'Always';
}

export function shouldRestart(policy: 'Always' | 'OnFailure' | 'Never', exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

export async function containerStatus(cri: Cri, id: string): Promise<ContainerStatus> {
  const res = await cri.call<ContainerStatusRequest, ContainerStatusResponse>(cri.runtime, 'containerStatus', ContainerStatusRequest.fromPartial({ containerId: id }), 30_000);
  return res.status!;
}

export async function createAndStart(cri: Cri, pod: PlayedPod, spec: Container, attempt: number): Promise<string> {
  const config = containerConfig(pod.ctx, spec, attempt, pod.env);
  const { containerId } = await cri.call<CreateContainerRequest, CreateContainerResponse>(cri.runtime, 'createContainer', CreateContainerRequest.fromPartial({
    podSandboxId: pod.sandboxId, config, sandboxConfig: pod.sandboxConfig,
  }));
  await cri.call(cri.runtime, 'startContainer', StartContainerRequest.fromPartial({ containerId }));
  return containerId;
}

export async function removeContainer(cri: Cri, id: string): Promise<void> {
  await cri.call(cri.runtime, 'removeContainer', RemoveContainerRequest.fromPartial({ containerId: id }));
}

/** Waits for a container to exit; init containers are short, so a plain poll is enough. */
async function waitExit(cri: Cri, id: string): Promise<ContainerStatus> {
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    const status = await containerStatus(cri, id);
    if (status.state === ContainerState.CONTAINER_EXITED) return status;
    await sleep(delay);
  }
}

export function stateText(status: ContainerStatus): string {
  switch (status.state) {
    case ContainerState.CONTAINER_RUNNING:
      return 'running';
    case ContainerState.CONTAINER_CREATED:
      return 'created';
    case ContainerState.CONTAINER_EXITED:
      return `exited(${status.exitCode}${status.reason && status.reason !== 'Completed' && status.reason !== 'Error' ? `, ${status.reason}` : ''})`;
    default:
      return 'unknown';
  }
}

export async function startPod(manifest: Manifest, p: PlayPod, opts: PlayOptions): Promise<PlayedPod> {
  const { cri } = opts;
  const label = podLabel(p);
  const say = (line: string) => opts.say(`${label}: ${line}`);
  const uid = p.pod.metadata.uid ?? randomUUID();
  const logDirectory = join(opts.logRoot, `${p.pod.metadata.namespace}_${p.pod.metadata.name}_${uid}`);
  let sandboxId: string | undefined;
  try {
    const volumes = await prepareVolumes(p, manifest, opts.podsDir, uid);
    const ctx: PodContext = { p, uid, logDirectory, cgroupParent: opts.cgroupParent, volumes };
    const spec = p.pod.spec!;
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      await ensureImage(cri, c, say);
      await verifyNonRoot(cri, c, spec.securityContext);
    }
    mkdirSync(logDirectory, { recursive: true, mode: 0o755 });
    const sandboxConfig = podSandboxConfig(ctx);
    sandboxId = (await cri.call<RunPodSandboxRequest, RunPodSandboxResponse>(cri.runtime, 'runPodSandbox', RunPodSandboxRequest.fromPartial({ config: sandboxConfig }))).podSandboxId;
    const status = await cri.call<PodSandboxStatusRequest, PodSandboxStatusResponse>(cri.runtime, 'podSandboxStatus', PodSandboxStatusRequest.fromPartial({ podSandboxId: sandboxId }));
    const ip = status.status?.network?.ip ?? '';
    say(`sandbox ${sandboxId.slice(0, 12)} ready, IP ${ip || '(host network)'}`);
    const pod: PlayedPod = { p, ctx, env: { manifest, podIP: ip }, sandboxId, sandboxConfig, ip, containers: new Map(), backoff: new Backoff(opts.backoff.initialMs, opts.backoff.maxMs) };
    for (const c of spec.initContainers ?? []) {
      if (!(await runInitContainer(pod, c, opts, say))) return pod;
    }
    for (const c of spec.containers) {
      const id = await createAndStart(cri, pod, c, 0);
      pod.containers.set(c.name, { spec: c, id, attempt: 0 });
      say(`container ${c.name} ${id.slice(0, 12)} ${stateText(await containerStatus(cri, id))}`);
    }
    return pod;
  } catch (err) {
    // Nothing half-made stays behind: the sandbox (with its containers) and the volumes go.
    if (sandboxId) await removeSandbox(cri, sandboxId).catch(() => undefined);
    await removePodDir(opts.podsDir, uid).catch(() => undefined);
    rmSync(logDirectory, { recursive: true, force: true });
    throw new Error(`${label}: ${(err as Error).message}`);
  }
}

/** Runs one init container to completion, again after back-off while the policy allows. */
async function runInitContainer(pod: PlayedPod, c: Container, opts: PlayOptions, say: (line: string) => void): Promise<boolean> {
  const policy = restartPolicy(pod.p);
  let previous: string | undefined;
  for (let attempt = 0; ; attempt++) {
    const id = await createAndStart(opts.cri, pod, c, attempt);
    if (previous) await removeContainer(opts.cri, previous);
    previous = id;
    say(`init container ${c.name} ${id.slice(0, 12)} running`);
    const status = await waitExit(opts.cri, id);
    say(`init container ${c.name} ${stateText(status)}`);
    if (status.exitCode === 0) return true;
    if (policy === 'Never') {
      pod.failed = `init container ${c.name} exited with ${status.exitCode}`;
      say(`failed: ${pod.failed}; restartPolicy is Never`);
      return false;
    }
    const delay = pod.backoff.next(`init/${c.name}`, Number(status.finishedAt - status.startedAt) / 1e6);
    say(`init container ${c.name}: restarting in ${formatMs(delay)}`);
    await sleep(delay);
  }
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(1)}s` : `${ms}ms`;
}

export async function removeSandbox(cri: Cri, id: string): Promise<void> {
  await cri.call(cri.runtime, 'stopPodSandbox', StopPodSandboxRequest.fromPartial({ podSandboxId: id }));
  await cri.call(cri.runtime, 'removePodSandbox', RemovePodSandboxRequest.fromPartial({ podSandboxId: id }));
}
