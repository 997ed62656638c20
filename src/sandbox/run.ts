import { mkdir, readFile, rm } from 'node:fs/promises';
import { hostname as nodeHostname } from 'node:os';
import { join } from 'node:path';
import { alreadyExists, invalidArgument, notFound, withContext } from '../errors.js';
import { NamespaceMode, PodSandboxConfig, Protocol } from '../gen/runtime/v1/api.js';
import { logger, stopwatch } from '../log/logger.js';
import { createPinnedNetns, removePinnedNetns } from '../network/netns.js';
import type { PodNetworkRequest, PortMapping } from '../network/types.js';
import { runtimeDefaultSeccomp } from '../oci/seccomp-default.js';
import { loadLocalhostSeccomp, seccompChoice } from '../oci/security.js';
import { buildSpec } from '../oci/spec.js';
import type { OciNamespace } from '../oci/spec-types.js';
import type { RuntimeContext } from '../runtime-context.js';
import { newId, nowNs } from '../store/clock.js';
import type { SandboxRecord } from '../store/types.js';
import { writePodFiles } from './pod-files.js';
import { sandboxCgroupsPath } from './cgroups.js';
import { processStart } from '../process/identity.js';

const SUPPORTED_HANDLERS = new Set(['', 'runc']);

/** Names being created right now, so that two concurrent calls for one pod cannot both win. */
const reservedNames = new Set<string>();

export function sandboxNameKey(name: string, namespace: string, uid: string, attempt: number): string {
  return `${name}_${namespace}_${uid}_${attempt}`;
}

export function podNetworkRequest(record: SandboxRecord): PodNetworkRequest {
  return {
    podId: record.id,
    podName: record.name,
    podNamespace: record.namespace,
    podUid: record.uid,
    netnsPath: record.netnsPath,
    portMappings: record.portMappings,
  };
}

const PROTOCOLS: Record<number, PortMapping['protocol']> = {
  [Protocol.TCP]: 'tcp',
  [Protocol.UDP]: 'udp',
  [Protocol.SCTP]: 'sctp',
};

/**
 * RunPodSandbox: the pause process holding the pod's namespaces, a pinned netns with the pod's
 * network on it, and the files its containers share. Every step done is undone when a later one
 * fails, so a failed call leaves nothing behind.
 */
export async function runPodSandbox(ctx: RuntimeContext, config: PodSandboxConfig, runtimeHandler: string): Promise<string> {
  const meta = config.metadata;
  if (!meta || !meta.name || !meta.namespace) {
    throw invalidArgument('pod sandbox config needs metadata with name and namespace');
  }
  if (config.hostname.length > 64) throw invalidArgument(`hostname "${config.hostname}" is longer than 64 characters`);
  if (!SUPPORTED_HANDLERS.has(runtimeHandler)) {
    throw invalidArgument(`unknown runtime handler "${runtimeHandler}" (cricket offers "runc")`);
  }
  const nameKey = sandboxNameKey(meta.name, meta.namespace, meta.uid, meta.attempt);
  for (const existing of ctx.sandboxes.all()) {
    if (sandboxNameKey(existing.name, existing.namespace, existing.uid, existing.attempt) === nameKey) {
      throw alreadyExists(`pod sandbox ${nameKey} already exists as ${existing.id}`);
    }
  }
  if (reservedNames.has(nameKey)) throw alreadyExists(`pod sandbox ${nameKey} is being created`);
  reservedNames.add(nameKey);
  try {
    return await createSandbox(ctx, config, runtimeHandler);
  } finally {
    reservedNames.delete(nameKey);
  }
}

async function createSandbox(ctx: RuntimeContext, config: PodSandboxConfig, runtimeHandler: string): Promise<string> {
  const meta = config.metadata!;
  const total = stopwatch();
  const id = newId();
  const nsOpts = config.linux?.securityContext?.namespaceOptions;
  const namespaces = {
    network: nsOpts?.network ?? NamespaceMode.POD,
    pid: nsOpts?.pid ?? NamespaceMode.CONTAINER,
    ipc: nsOpts?.ipc ?? NamespaceMode.POD,
    targetId: nsOpts?.targetId ?? '',
  };
  const hostNetwork = namespaces.network === NamespaceMode.NODE;
  const pauseImage = ctx.images.resolve(ctx.config.pauseImage);
  if (!pauseImage) throw notFound(`pause image ${ctx.config.pauseImage} is not in the image store`);

  const record: SandboxRecord = {
    id,
    name: meta.name,
    namespace: meta.namespace,
    uid: meta.uid,
    attempt: meta.attempt,
    state: 'creating',
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
    netnsPath: hostNetwork ? '' : join(ctx.paths.netns, id),
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
  const undo: (() => Promise<unknown>)[] = [];
  const steps: Record<string, number> = {};

  try {
    let s0 = stopwatch();
    await ctx.sandboxes.put(record);
    steps.persistMs = s0();
    undo.push(() => ctx.sandboxes.delete(id));
    await mkdir(sandboxDir, { recursive: true });
    undo.push(() => rm(sandboxDir, { recursive: true, force: true }));

    if (!hostNetwork) {
      const t = stopwatch();
      await createPinnedNetns(record.netnsPath).catch((err) => {
        throw withContext(`pod ${id}: creating network namespace`, err);
      });
      undo.push(() => removePinnedNetns(record.netnsPath));
      steps.netnsMs = t();
    }

    const layers = ctx.images.layerDirs(pauseImage);
    const podSecurity = config.linux?.securityContext;
    const pauseUser = pauseImage.config.user.split(':').map((n: string) => Number.parseInt(n, 10));
    const podNamespaces: OciNamespace[] = [];
    if (!hostNetwork) podNamespaces.push({ type: 'network', path: record.netnsPath }, { type: 'uts' });
    if (namespaces.ipc !== NamespaceMode.NODE) podNamespaces.push({ type: 'ipc' });
    if (namespaces.pid !== NamespaceMode.NODE) podNamespaces.push({ type: 'pid' });
    const spec = buildSpec({
      rootfs: layers[layers.length - 1]!,
      readonlyRootfs: true,
      args: [...pauseImage.config.entrypoint, ...pauseImage.config.cmd],
      env: pauseImage.config.env,
      cwd: '/',
      // The pod's security context decides who pause runs as; the pause image's USER otherwise.
      uid: podSecurity?.runAsUser ? Number(podSecurity.runAsUser.value) : Number.isFinite(pauseUser[0]) ? pauseUser[0]! : 65535,
      gid: podSecurity?.runAsGroup ? Number(podSecurity.runAsGroup.value) : Number.isFinite(pauseUser[1]) ? pauseUser[1]! : 65535,
      additionalGids: (podSecurity?.supplementalGroups ?? []).map(Number),
      namespaces: podNamespaces,
      cgroupsPath: sandboxCgroupsPath(record),
      hostname: hostNetwork || !config.hostname ? undefined : record.hostname,
      mounts: [],
      terminal: false,
      sysctl: config.linux?.sysctls,
    });
    // The pause process needs no privilege at all.
    spec.process.capabilities = { bounding: [], effective: [], permitted: [] };
    spec.process.noNewPrivileges = true;
    const seccomp = seccompChoice(podSecurity?.seccomp, podSecurity?.seccompProfilePath ?? '');
    if (seccomp.kind === 'default') spec.linux.seccomp = runtimeDefaultSeccomp([]);
    else if (seccomp.kind === 'localhost') spec.linux.seccomp = loadLocalhostSeccomp(seccomp.path);
    const bundle = join(sandboxDir, 'bundle');
    s0 = stopwatch();
    await mkdir(bundle);
    await ctx.runc.writeBundle(bundle, spec);
    steps.bundleMs = s0();

    // The pause process and the pod network do not depend on each other: set them up at once.
    const pidFile = join(bundle, 'pid');
    const startPause = (async () => {
      const t = stopwatch();
      await ctx.runc.runDetached(id, bundle, pidFile).catch((err) => {
        throw withContext(`pod ${id}: starting pause`, err);
      });
      steps.pauseMs = t();
    })();
    const setUpNetwork = (async () => {
      if (hostNetwork) return;
      const t = stopwatch();
      const result = await ctx.network.setUp(podNetworkRequest(record)).catch((err) => {
        throw withContext(`pod ${id}: CNI ADD on network ${ctx.network.name}`, err);
      });
      record.ips = result.ips;
      record.cniResult = result.result;
      record.cniConfig = result.config;
      steps.cniAddMs = t();
    })();
    const [pause, net] = await Promise.allSettled([startPause, setUpNetwork]);
    if (pause.status === 'fulfilled') undo.push(() => ctx.runc.deleteForce(id));
    if (net.status === 'fulfilled' && !hostNetwork) {
      undo.push(() => ctx.network.tearDown(podNetworkRequest(record), record.cniResult, record.cniConfig));
    }
    if (pause.status === 'rejected') throw pause.reason;
    if (net.status === 'rejected') throw net.reason;

    record.pausePid = Number.parseInt(await readFile(pidFile, 'utf8'), 10);
    record.pauseStart = await processStart(record.pausePid);
    if (!record.pauseStart) throw new Error(`pod ${id}: pause (pid ${record.pausePid}) exited right after it started`);
    const dns = config.dnsConfig;
    s0 = stopwatch();
    await writePodFiles(sandboxDir, record.hostname, dns, record.ips);
    record.state = 'ready';
    await ctx.sandboxes.put(record);
    steps.finishMs = s0();
    ctx.events.emit({ type: 'created', containerId: id, sandboxId: id, at: BigInt(record.createdAt) });
    ctx.events.emit({ type: 'started', containerId: id, sandboxId: id, at: nowNs() });
    log.info({ step: 'run', ips: record.ips, ms: total(), ...steps }, 'pod sandbox ready');
    return id;
  } catch (err) {
    for (const step of undo.reverse()) {
      await step().catch((undoErr) => log.error({ err: undoErr }, 'rollback step failed'));
    }
    log.warn({ err, ms: total() }, 'pod sandbox creation failed and was rolled back');
    throw withContext(`RunPodSandbox ${meta.namespace}/${meta.name}`, err);
  }
}
