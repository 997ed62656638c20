import { mkdir, readFile, rm } from 'node:fs/promises';
import { hostname as nodeHostname } from 'node:os';
import { join } from 'node:path';
import { alreadyExists, invalidArgument, notFound, withContext } from '../errors.js';
import { NamespaceMode, PodSandboxConfig, Protocol } from '../gen/runtime/v1/api.js';
import { logger, stopwatch, type Logger } from '../log/logger.js';
import { createPinnedNetns, removePinnedNetns } from '../network/netns.js';
import type { PodNetworkResult, PortMapping } from '../network/types.js';
import { podNetworkRequest } from '../pod/network-request.js';
import { nodeFacts } from '../oci/node-facts.js';
import { loadLocalhostSeccomp } from '../oci/seccomp-localhost.js';
import { pauseSpec } from '../oci/spec/pause.js';
import { podSeccompChoice } from '../oci/spec/security.js';
import type { RuntimeContext } from '../runtime-context.js';
import { newId, nowNs } from '../store/clock.js';
import { sandboxNameKey } from '../store/name-index.js';
import { requestDigest } from '../store/request-digest.js';
import { Rollback } from '../store/rollback.js';
import type { SandboxRecord } from '../store/types.js';
import { StepTimeline } from '../store/step-timeline.js';
import { writePodFiles } from './pod-files.js';
import { sandboxCgroupsPath } from '../pod/cgroups.js';
import { processStart } from '../process/identity.js';
import { podUserNamespace } from '../pod/user-namespace.js';
import { pinPauseNetns } from './pin-pod-netns.js';
import { idmapStagingDir, openToPodRoot, releaseIdmapStaging, stagePauseRootfs } from '../container/idmap-mounts.js';
import { podShmPath, mountPodShm, unmountPodShm } from '../pod/shm.js';


const PROTOCOLS: Record<number, PortMapping['protocol']> = {
  [Protocol.TCP]: 'tcp',
  [Protocol.UDP]: 'udp',
  [Protocol.SCTP]: 'sctp',
};

/**
 * RunPodSandbox: the pause process holding the pod's namespaces, a pinned netns with the pod's
 * network on it, and the files its containers share. Every step done is undone when a later one
 * fails, so a failed call leaves nothing behind.
 *
 * kubelet repeats a call that outlived its deadline with the very same request: such a retry
 * waits for the creation under way and gets its pod id, or gets the id of the ready pod it made.
 * A different request for a name already taken is ALREADY_EXISTS.
 */
export async function runPodSandbox(ctx: RuntimeContext, config: PodSandboxConfig, runtimeHandler: string): Promise<string> {
  const meta = config.metadata;
  if (!meta || !meta.name || !meta.namespace) {
    throw invalidArgument('pod sandbox config needs metadata with name and namespace');
  }
  if (config.hostname.length > 64) throw invalidArgument(`hostname "${config.hostname}" is longer than 64 characters`);
  // INVALID_ARGUMENT for a handler this node does not offer, before anything is reserved.
  ctx.runtimes.forHandler(runtimeHandler);
  const nameKey = sandboxNameKey(meta.name, meta.namespace, meta.uid, meta.attempt);
  const what = `pod sandbox ${meta.namespace}/${meta.name} (uid ${meta.uid}, attempt ${meta.attempt})`;
  const digest = requestDigest(PodSandboxConfig.toJSON(config), runtimeHandler);
  for (;;) {
    const held = ctx.names.holder(nameKey);
    if (!held) break;
    if (held.digest !== digest) throw alreadyExists(`${what} already exists as ${held.id}, made by a different request`);
    if (held.creating) {
      logger.info({ pod: held.id, name: meta.name, namespace: meta.namespace }, 'identical RunPodSandbox joins the creation under way');
      await held.creating;
      continue;
    }
    const existing = ctx.sandboxes.get(held.id);
    if (existing?.state === 'ready') return existing.id;
    throw alreadyExists(`${what} already exists as ${held.id} (${existing?.state ?? 'being removed'})`);
  }
  const id = newId();
  let settle!: () => void;
  const creating = new Promise<void>((resolve) => (settle = resolve));
  ctx.names.reserve(nameKey, { id, digest, creating }, what);
  try {
    // The pod's lock for the whole creation: a Stop or Remove of this pod (its id is listed as
    // soon as the record exists) waits for the outcome instead of racing it.
    const result = await ctx.locks.run(id, () => createSandbox(ctx, id, config, runtimeHandler, digest));
    ctx.names.settle(nameKey, id);
    return result;
  } catch (err) {
    // A record left `unknown` keeps its name until RemovePodSandbox finishes it.
    if (ctx.sandboxes.get(id)) ctx.names.settle(nameKey, id);
    else ctx.names.release(nameKey, id);
    throw err;
  } finally {
    settle();
  }
}

async function createSandbox(ctx: RuntimeContext, id: string, config: PodSandboxConfig, runtimeHandler: string, digest: string): Promise<string> {
  const meta = config.metadata!;
  const total = stopwatch();
  // runc moves pause into the pod's cgroups some 10 ms from now: have the lock ready by then.
  ctx.cgroupLock.prime();
  // A config without namespace options gets each mode's zero value, POD, which the CRI names as
  // the default for all three, as it does for options that leave one out. kubelet always sends
  // them (PID mode CONTAINER unless the pod shares its process namespace).
  const nsOpts = config.linux?.securityContext?.namespaceOptions;
  const namespaces = {
    network: nsOpts?.network ?? NamespaceMode.POD,
    pid: nsOpts?.pid ?? NamespaceMode.POD,
    ipc: nsOpts?.ipc ?? NamespaceMode.POD,
    targetId: nsOpts?.targetId ?? '',
  };
  const hostNetwork = namespaces.network === NamespaceMode.NODE;
  const runtime = ctx.runtimes.forHandler(runtimeHandler);
  const userns = podUserNamespace(nsOpts?.usernsOptions, namespaces, `${meta.namespace}/${meta.name}`);
  const pauseImage = ctx.images.resolve(ctx.config.pauseImage);
  if (!pauseImage) throw notFound(`pause image ${ctx.config.pauseImage} is not in the image store`);

  const record: SandboxRecord = {
    id,
    name: meta.name,
    namespace: meta.namespace,
    uid: meta.uid,
    attempt: meta.attempt,
    state: 'creating',
    requestDigest: digest,
    createdAt: nowNs().toString(),
    labels: { ...config.labels },
    annotations: { ...config.annotations },
    runtimeHandler,
    // Without a hostname the pod's UTS namespace keeps the node's name, as in other runtimes.
    hostname: hostNetwork || !config.hostname ? nodeHostname() : config.hostname,
    logDirectory: config.logDirectory,
    privileged: config.linux?.securityContext?.privileged ?? false,
    cgroupParent: config.linux?.cgroupParent ?? '',
    namespaces,
    userns,
    netnsPath: hostNetwork ? '' : join(ctx.paths.netns, id),
    shmPath: namespaces.ipc === NamespaceMode.NODE ? undefined : podShmPath(ctx.paths.sandboxDir(id)),
    ips: [],
    // A mapping without a host port only documents the container port: nothing to set up.
    portMappings: config.portMappings.filter((pm) => pm.hostPort > 0).map((pm) => ({
      hostPort: pm.hostPort,
      containerPort: pm.containerPort,
      protocol: PROTOCOLS[pm.protocol] ?? 'tcp',
      hostIP: pm.hostIp,
    })),
    pausePid: 0,
    config: PodSandboxConfig.toJSON(config),
  };
  const log = logger.child({ pod: id, name: meta.name, namespace: meta.namespace });
  const sandboxDir = ctx.paths.sandboxDir(id);
  const rollback = new Rollback();
  const timeline = new StepTimeline();
  let persisted = false;

  // The record must be on disk before anything it alone leads back to after a power loss: the
  // address CNI ADD reserves. What lives on tmpfs (netns pin, bundle) and the runc state are
  // swept by recovery when no record owns them, so they are made while the record is synced.
  const persist = timeline.time('persist', () => ctx.sandboxes.create(record)).then(() => {
    persisted = true;
  });
  // Its failure is met where it is awaited; until then it must not count as unhandled.
  persist.catch(() => undefined);
  try {
    await mkdir(sandboxDir, { recursive: true, mode: 0o700 });
    rollback.add('remove sandbox directory', () => rm(sandboxDir, { recursive: true, force: true }));
    // Mounted beside the network namespace's making; unmounted (once its mount has settled)
    // before the directory is removed.
    const shmPath = record.shmPath;
    const shm = shmPath ? mountPodShm(shmPath) : undefined;
    shm?.catch(() => undefined);
    if (shmPath) {
      rollback.add("unmount the pod's /dev/shm", async () => {
        await shm?.catch(() => undefined);
        await unmountPodShm(shmPath);
      });
    }

    if (!hostNetwork && !userns) {
      await timeline.time('netns', () =>
        createPinnedNetns(record.netnsPath).catch((err) => {
          throw withContext(`pod ${id}: creating network namespace`, err);
        }),
      );
      rollback.add('unpin network namespace', () => removePinnedNetns(record.netnsPath));
    }
    await shm;

    const layers = ctx.images.layerDirs(pauseImage);
    const pauseStaging = idmapStagingDir(sandboxDir);
    let pauseRootfs = layers[layers.length - 1]!;
    if (userns) {
      await openToPodRoot(sandboxDir, ctx.paths.sandboxesDir, userns);
      rollback.add('release staged pause rootfs', () => releaseIdmapStaging(pauseStaging));
      pauseRootfs = await stagePauseRootfs(pauseRootfs, pauseStaging, userns);
    }
    const seccomp = podSeccompChoice({ config });
    const spec = pauseSpec({
      config,
      image: pauseImage.config,
      pod: {
        id,
        name: record.name,
        namespace: record.namespace,
        uid: record.uid,
        logDirectory: record.logDirectory,
        hostname: record.hostname,
        namespaces,
        netnsPath: record.netnsPath,
      },
      node: nodeFacts(ctx.minOomScoreAdj),
      rootfs: pauseRootfs,
      userns,
      cgroupsPath: sandboxCgroupsPath(record),
      localhostSeccomp: seccomp.kind === 'localhost' ? loadLocalhostSeccomp(seccomp.path) : undefined,
    });
    const bundle = join(sandboxDir, 'bundle');
    await timeline.time('bundle', async () => {
      await mkdir(bundle, { mode: 0o700 });
      await runtime.writeBundle(bundle, spec);
    });

    // The pause process and the pod network do not depend on each other: set them up at once.
    // Only CNI ADD waits for the record's fsync; a pause without a record is swept at start-up.
    const pidFile = join(bundle, 'pid');
    const startPause = timeline.time('pause', () =>
      runtime.runDetached(id, bundle, pidFile).catch((err) => {
        throw withContext(`pod ${id}: starting pause`, err);
      }).then(async () => {
        // pause's mount namespace holds its own copy of its rootfs now.
        if (userns) await releaseIdmapStaging(pauseStaging).catch((err) => log.warn({ err }, 'detaching the staged pause rootfs failed; RemovePodSandbox retries'));
      }),
    );
    let network: PodNetworkResult | undefined;
    const setUpNetwork = (async () => {
      await persist;
      if (hostNetwork) return;
      if (userns) {
        await startPause;
        rollback.add('unpin network namespace', () => removePinnedNetns(record.netnsPath));
        await pinPauseNetns(record.netnsPath, Number.parseInt(await readFile(pidFile, 'utf8'), 10));
      }
      network = await timeline.time('cniAdd', () =>
        ctx.network.setUp(podNetworkRequest(record)).catch((err) => {
          throw withContext(`pod ${id}: CNI ADD on network ${ctx.network.name}`, err);
        }),
      );
    })();
    const [pause, net] = await Promise.allSettled([startPause, setUpNetwork]);
    // runc may have made its state before failing, and a failed ADD may have reserved an address
    // its own undo could not free: both undo steps are idempotent, so they run in any case.
    rollback.add('delete pause', () => runtime.deleteForce(id));
    if (!hostNetwork) {
      rollback.add('CNI DEL', () => ctx.network.tearDown(podNetworkRequest(record), network?.result, network?.config));
    }
    if (pause.status === 'rejected') throw pause.reason;
    if (net.status === 'rejected') throw net.reason;

    const pausePid = Number.parseInt(await readFile(pidFile, 'utf8'), 10);
    const pauseStart = await processStart(pausePid);
    if (!pauseStart) throw new Error(`pod ${id}: pause (pid ${pausePid}) exited right after it started`);
    const ips = network?.ips ?? [];
    await timeline.time('podFiles', () => writePodFiles(sandboxDir, record.hostname, config.dnsConfig, ips));
    // The timeline goes to disk with the write that makes the pod ready; that write is timed
    // too, but only the `started` event can carry its duration.
    const recorded = [...timeline.steps];
    const endFinish = timeline.begin('finish');
    const ready = await ctx.sandboxes.update(id, (current) => ({
      ...current,
      state: 'ready',
      pausePid,
      pauseStart,
      ips,
      cniResult: network?.result,
      cniConfig: network?.config,
      timeline: recorded,
    }));
    endFinish();
    const ms = total();
    ctx.events.emit({ type: 'created', containerId: id, sandboxId: id, at: BigInt(record.createdAt) });
    ctx.events.emit({
      type: 'started',
      containerId: id,
      sandboxId: id,
      at: nowNs(),
      timeline: [...timeline.steps, { step: 'total', startedAt: record.createdAt, ms }],
    });
    log.info({ step: 'run', ips: ready?.ips, ms, ...timeline.fields() }, 'pod sandbox ready');
    return id;
  } catch (err) {
    // A step that failed while the record was being written waits for the write to settle.
    await persist.catch(() => undefined);
    const failed = await rollback.run(log);
    if (persisted) await forgetOrMarkUnknown(ctx, id, failed, log);
    log.warn({ err, ms: total(), undoFailed: failed }, 'pod sandbox creation failed and was rolled back');
    throw withContext(`RunPodSandbox ${meta.namespace}/${meta.name}`, err);
  }
}

/**
 * After a failed creation: with every step undone the record goes; otherwise it stays, `unknown`
 * and without IPs, naming what is left, so that Stop and Remove finish the job (a record is the
 * only memory of an address still reserved).
 */
async function forgetOrMarkUnknown(ctx: RuntimeContext, id: string, failed: string[], log: Logger): Promise<void> {
  try {
    if (failed.length === 0) await ctx.sandboxes.delete(id);
    else await ctx.sandboxes.update(id, (current) => ({ ...current, state: 'unknown', ips: [], undoLeft: failed }));
  } catch (err) {
    // The record stays `creating`; the next start-up undoes it.
    log.error({ err }, 'recording the outcome of a failed pod creation failed');
  }
}
