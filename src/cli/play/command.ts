// `cricket play FILE|-`: Pods from Kubernetes YAML run through the CRI socket, as kubelet runs them.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerState } from '../../gen/runtime/v1/api.js';
import { connectCri } from '../cri-client.js';
import { parseDuration } from '../duration.js';
import { sandboxesOf, playDown } from './down.js';
import { formatIssue, parseManifest, type Manifest, type PlayPod } from './manifest.js';
import { playedSandbox, reattachPod } from './reattach.js';
import type { PodSandbox } from '../../gen/runtime/v1/api.js';
import { containerStatus, startPod, stateText, type PlayOptions, type PlayedPod } from './run-pod.js';
import { supervise } from './supervise.js';

export const PLAY_USAGE = `usage: cricket play [options] FILE|-
       cricket play --down [options] FILE|-

Runs the Pods of a multi-document Kubernetes YAML file (with the ConfigMaps and Secrets they use)
through the daemon's CRI socket, as kubelet would: sandbox, init containers in order, containers.
Prints each pod's name, IP and container states, then returns.

options:
  --down               stop and remove the file's pods, their volumes and logs
  --grace-period N     with --down: seconds each container has to stop after SIGTERM
                       (default: the pod's terminationGracePeriodSeconds, or 30)
  --wait               wait until every container is running or has finished
  --watch              stay attached: restart exited containers as restartPolicy says (with
                       back-off) and run liveness/readiness/startup probes, until interrupted
                       or nothing is left to watch; pods of the file that an earlier play
                       started are taken over as they are
  --timeout DUR        give up --wait after this long (default 5m)
  --socket PATH        CRI socket (default from the config, /run/cricket/cricket.sock)
  --config FILE        config file (default /etc/cricket/config.toml)
  --pods-dir DIR       where pod volumes (emptyDir, configMap, secret) live (default /var/lib/cricket-play/pods)
  --log-root DIR       parent of the pods' log directories (default /var/log/pods)
  --cgroup-parent P    cgroup parent of the pods (default /kubepods)
  --backoff DUR        first restart back-off, doubling each time (default 10s)
  --backoff-max DUR    longest restart back-off (default 5m)
  --sync-period DUR    how often --watch looks at containers (default 1s)
  -h, --help           this text
`;

export interface PlayFlags {
  socket: string;
  flags: Record<string, string>;
}

function readSource(file: string): { text: string; source: string } {
  if (file === '-') return { text: readFileSync(0, 'utf8'), source: '<stdin>' };
  return { text: readFileSync(file, 'utf8'), source: file };
}

export async function playCommand(positional: string[], flags: Record<string, string>, socket: string): Promise<number> {
  if (flags.help) {
    process.stdout.write(PLAY_USAGE);
    return 0;
  }
  if (positional.length !== 1) {
    process.stderr.write(PLAY_USAGE);
    return 2;
  }
  const { text, source } = readSource(positional[0]!);
  let manifest: Manifest;
  try {
    manifest = parseManifest(text, source);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
  for (const w of manifest.warnings) process.stderr.write(`${formatIssue(source, w)}\n`);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const cri = connectCri(socket);
  const opts: PlayOptions & { syncMs: number } = {
    cri,
    podsDir: flags['pods-dir'] ?? '/var/lib/cricket-play/pods',
    logRoot: flags['log-root'] ?? '/var/log/pods',
    cgroupParent: flags['cgroup-parent'] ?? '/kubepods',
    say,
    backoff: { initialMs: parseDuration(flags.backoff ?? '10s', '--backoff'), maxMs: parseDuration(flags['backoff-max'] ?? '5m', '--backoff-max') },
    syncMs: parseDuration(flags['sync-period'] ?? '1s', '--sync-period'),
  };
  try {
    if (flags.down) {
      const grace = flags['grace-period'] !== undefined ? Number(flags['grace-period']) : undefined;
      if (grace !== undefined && !(Number.isInteger(grace) && grace >= 0)) throw new Error(`--grace-period must be a number of seconds, not "${flags['grace-period']}"`);
      await playDown(manifest, cri, opts.podsDir, opts.logRoot, say, grace);
      return 0;
    }
    if (!manifest.pods.length) {
      process.stderr.write(`${source}: no Pod in the file\n`);
      return 1;
    }
    // With --watch, pods an earlier play started are taken over; otherwise they are in the way.
    const earlier = new Map<PlayPod, PodSandbox>();
    for (const p of manifest.pods) {
      const { namespace, name } = p.pod.metadata;
      const sandboxes = await sandboxesOf(cri, namespace, name);
      if (!sandboxes.length) continue;
      const taken = flags.watch ? playedSandbox(sandboxes) : undefined;
      if (!taken) {
        process.stderr.write(`pod ${namespace}/${name} already exists; remove it first with cricket play --down ${positional[0]}\n`);
        return 1;
      }
      earlier.set(p, taken);
    }
    const played: PlayedPod[] = [];
    let failed = false;
    for (const p of manifest.pods) {
      try {
        const sandbox = earlier.get(p);
        played.push(sandbox ? await reattachPod(manifest, p, sandbox, opts) : await startPod(manifest, p, opts));
      } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        failed = true;
      }
    }
    if (flags.wait && !flags.watch) await waitSettled(played, opts, parseDuration(flags.timeout ?? '5m', '--timeout'));
    await printSummary(played, opts);
    if (flags.watch) {
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      say('watching; Ctrl-C stops watching (the pods keep running)');
      await supervise(played, opts, abort.signal);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    return failed || played.some((p) => p.failed) ? 1 : 0;
  } finally {
    cri.close();
  }
}

/** Until no container is merely created: each is running or has finished. */
async function waitSettled(pods: PlayedPod[], opts: PlayOptions, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let pending = 0;
    for (const pod of pods) {
      for (const c of pod.containers.values()) {
        const s = await containerStatus(opts.cri, c.id);
        if (s.state === ContainerState.CONTAINER_CREATED || s.state === ContainerState.CONTAINER_UNKNOWN) pending++;
      }
    }
    if (!pending) return;
    if (Date.now() > deadline) throw new Error(`${pending} container(s) not running after ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function printSummary(pods: PlayedPod[], opts: PlayOptions): Promise<void> {
  const rows: string[][] = [['POD', 'IP', 'CONTAINERS']];
  for (const pod of pods) {
    const states: string[] = [];
    for (const [name, c] of pod.containers) states.push(`${name}=${stateText(await containerStatus(opts.cri, c.id))}`);
    rows.push([`${pod.p.pod.metadata.namespace}/${pod.p.pod.metadata.name}`, pod.ip || '-', pod.failed ? `failed: ${pod.failed}` : states.join(' ')]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) opts.say(r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}
