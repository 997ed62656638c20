// While `cricket play --watch` runs, it does kubelet's per-pod work: restarts exited containers
// as the pod's restartPolicy says, with crash-loop back-off, and runs the containers' probes.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Probe } from 'kubernetes-types/core/v1.js';
import { ContainerState, StopContainerRequest, type ContainerStatus } from '../../gen/runtime/v1/api.js';
import { CriCallError } from '../cri-client.js';
import { probeTiming, runProbe } from './probes.js';
import { containerStatus, createAndStart, formatMs, podLabel, removeContainer, restartPolicy, shouldRestart, stateText, type PlayOptions, type PlayedContainer, type PlayedPod } from './run-pod.js';

const NOT_FOUND = 5;

type ProbeKind = 'startup' | 'liveness' | 'readiness';

interface ProbeState {
  kind: ProbeKind;
  probe: Probe;
  nextAt: number;
  successes: number;
  failures: number;
}

interface Watched {
  pod: PlayedPod;
  container: PlayedContainer;
  /** The exited instance kept for `logs --previous`; the one before it is removed. */
  previous?: string;
  restartAt?: number;
  /** Restart decided and done: nothing more to do for this container. */
  finished: boolean;
  lastState: string;
  started: boolean;
  ready: boolean;
  killing: boolean;
  probes: ProbeState[];
}

function probesOf(c: PlayedContainer, now: number): ProbeState[] {
  const list: ProbeState[] = [];
  const add = (kind: ProbeKind, probe: Probe | undefined) => {
    if (probe) list.push({ kind, probe, nextAt: now + probeTiming(probe).initialDelayMs, successes: 0, failures: 0 });
  };
  add('startup', c.spec.startupProbe);
  add('liveness', c.spec.livenessProbe);
  add('readiness', c.spec.readinessProbe);
  return list;
}

export async function supervise(pods: PlayedPod[], opts: PlayOptions & { syncMs: number }, signal: AbortSignal): Promise<void> {
  const now = Date.now();
  const watched: Watched[] = [];
  for (const pod of pods) {
    if (pod.failed) continue;
    for (const container of pod.containers.values()) {
      watched.push({ pod, container, previous: container.previous, finished: false, lastState: '', started: !container.spec.startupProbe, ready: !container.spec.readinessProbe, killing: false, probes: probesOf(container, now) });
    }
  }
  while (!signal.aborted && watched.some((w) => !w.finished)) {
    for (const w of watched) {
      if (w.finished || signal.aborted) continue;
      try {
        await step(w, opts);
      } catch (err) {
        if (err instanceof CriCallError && err.code === NOT_FOUND) {
          opts.say(`${podLabel(w.pod.p)}: container ${w.container.spec.name} is gone; no longer watched`);
          w.finished = true;
        } else {
          opts.say(`${podLabel(w.pod.p)}: container ${w.container.spec.name}: ${(err as Error).message}`);
        }
      }
    }
    await sleep(opts.syncMs, undefined, { signal }).catch(() => undefined);
  }
}

async function step(w: Watched, opts: PlayOptions): Promise<void> {
  const { cri } = opts;
  const say = (line: string) => opts.say(`${podLabel(w.pod.p)}: container ${w.container.spec.name} ${line}`);
  const status = await containerStatus(cri, w.container.id);
  const state = stateText(status);
  if (state !== w.lastState) {
    if (w.lastState) say(state);
    w.lastState = state;
  }
  if (status.state === ContainerState.CONTAINER_EXITED) return exited(w, status, opts, say);
  if (status.state !== ContainerState.CONTAINER_RUNNING || w.killing) return;
  const now = Date.now();
  for (const p of w.probes) {
    if (now < p.nextAt) continue;
    if (p.kind !== 'startup' && !w.started) continue;
    if (p.kind === 'startup' && w.started) continue;
    const timing = probeTiming(p.probe);
    p.nextAt = now + timing.periodMs;
    const result = await runProbe(cri, p.probe, w.container.spec, w.container.id, w.pod.ip);
    if (result.ok) {
      p.failures = 0;
      p.successes++;
      if (p.kind === 'startup') {
        w.started = true;
        say('started (startup probe succeeded)');
      }
      if (p.kind === 'readiness' && !w.ready && p.successes >= timing.successThreshold) {
        w.ready = true;
        say('ready');
      }
      continue;
    }
    p.successes = 0;
    p.failures++;
    if (p.kind === 'readiness') {
      if (w.ready && p.failures >= timing.failureThreshold) {
        w.ready = false;
        say(`not ready: readiness probe failed: ${result.message}`);
      }
      continue;
    }
    say(`${p.kind} probe failed (${p.failures}/${timing.failureThreshold}): ${result.message}`);
    if (p.failures >= timing.failureThreshold) {
      const grace = p.probe.terminationGracePeriodSeconds ?? w.pod.p.pod.spec?.terminationGracePeriodSeconds ?? 30;
      say(`${p.kind} probe failed ${p.failures} times; killing it (grace ${grace}s)`);
      w.killing = true;
      await cri.call(cri.runtime, 'stopContainer', StopContainerRequest.fromPartial({ containerId: w.container.id, timeout: BigInt(grace) }), (grace + 30) * 1000);
      return;
    }
  }
}

async function exited(w: Watched, status: ContainerStatus, opts: PlayOptions, say: (line: string) => void): Promise<void> {
  const policy = restartPolicy(w.pod.p);
  if (!shouldRestart(policy, status.exitCode) && !w.killing) {
    say(`stays exited (restartPolicy ${policy})`);
    w.finished = true;
    return;
  }
  if (!shouldRestart(policy, status.exitCode)) {
    w.finished = true;
    return;
  }
  if (w.restartAt === undefined) {
    const ranMs = Number(status.finishedAt - status.startedAt) / 1e6;
    const delay = w.pod.backoff.next(w.container.spec.name, ranMs);
    w.restartAt = Date.now() + delay;
    say(`back-off ${formatMs(delay)} before restart ${w.container.attempt + 1}`);
    return;
  }
  if (Date.now() < w.restartAt) return;
  const attempt = w.container.attempt + 1;
  const id = await createAndStart(opts.cri, w.pod, w.container.spec, attempt);
  // kubelet keeps the last exited instance for its logs and removes older ones.
  if (w.previous) await removeContainer(opts.cri, w.previous).catch(() => undefined);
  w.previous = w.container.id;
  w.container = { ...w.container, id, attempt };
  w.pod.containers.set(w.container.spec.name, w.container);
  w.restartAt = undefined;
  w.killing = false;
  w.started = !w.container.spec.startupProbe;
  w.ready = !w.container.spec.readinessProbe;
  w.probes = probesOf(w.container, Date.now());
  w.lastState = 'running';
  say(`restarted as ${id.slice(0, 12)} (restart ${attempt})`);
}
