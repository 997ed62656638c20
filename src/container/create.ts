import { statSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, withContext } from '../errors.js';
import { ContainerConfig, NamespaceMode, Signal, signalToJSON, SupplementalGroupsPolicy } from '../gen/runtime/v1/api.js';
import { mountRootfs, unmountRootfs } from '../image/rootfs.js';
import { logger, stopwatch } from '../log/logger.js';
import { startConmon, type ConmonCreated } from '../oci/conmon.js';
import { openSpecPipe, PENDING_SPEC } from '../oci/spec-pipe.js';
import { processStart } from '../process/identity.js';
import { verifiedPid } from '../process/verified-pid.js';
import { hostDevices } from '../oci/host-devices.js';
import { nodeFacts } from '../oci/node-facts.js';
import { resourceRequest } from '../oci/resources.js';
import { containerSeccompChoice } from '../oci/spec/security.js';
import { containerSpec } from '../oci/spec/container.js';
import { containerPidMode } from '../oci/spec/namespaces.js';
import { loadLocalhostSeccomp } from '../oci/seccomp-localhost.js';
import type { RuntimeContext } from '../runtime-context.js';
import { containerCgroupsPath } from '../pod/cgroups.js';
import { podFilePaths } from '../pod/files.js';
import { newId, nowNs } from '../store/clock.js';
import { containerNameKey } from '../store/name-index.js';
import { requestDigest } from '../store/request-digest.js';
import { StepTimeline } from '../store/step-timeline.js';
import { Rollback } from '../store/rollback.js';
import type { ContainerMount, ContainerRecord, SandboxRecord } from '../store/types.js';
import { resolveDevices } from './devices.js';
import { ensureMountSources } from './mounts.js';
import { hostMounts } from '../oci/spec/mounts.js';
import { imageVolumeRequests, leaseVolumeImages, mountImageVolumes, unmountImageVolumes } from './image-volumes.js';
import { resolveUser } from './user.js';
import { checkRecursiveReadonly } from '../oci/spec/recursive-readonly.js';
import { checkpointArchive, requireRestorable, unpackCheckpoint, type CheckpointArchive } from './checkpoint-restore.js';
import { requestedCdiDevices, resolveCdiDevices } from './cdi-devices.js';
import { statusImageName } from './status-image-name.js';
import { checkContainerUserNamespace } from '../pod/user-namespace.js';
import { chownUpper, openToPodRoot, idmapStagingDir, releaseIdmapStaging, stageIdmappedLayers, stageIdmappedSources } from './idmap-mounts.js';


/**
 * CreateContainer: overlay rootfs from the image, config.json from the request and the image,
 * and conmon running `runc create`. The container waits, created, for StartContainer.
 *
 * Runs under the pod's lock, so it never overlaps a Stop or Remove of the pod. kubelet's
 * identical retry of a call that outlived its deadline waits behind that lock and then gets the
 * id of the container the first call made.
 */
export async function createContainer(
  ctx: RuntimeContext,
  sandboxId: string,
  config: ContainerConfig,
): Promise<string> {
  const meta = config.metadata;
  if (!meta || !meta.name) throw invalidArgument('container config needs metadata with a name');
  if (!config.image?.image) throw invalidArgument(`container ${meta.name}: no image given`);
  const found = ctx.sandboxes.find(sandboxId);
  if (!found) throw notFound(`pod sandbox ${sandboxId} not found`);
  const digest = requestDigest(ContainerConfig.toJSON(config));
  // An image field naming a checkpoint archive restores that container (read before any lock).
  const archive = await checkpointArchive(config.image.image);
  if (archive) await requireRestorable(archive, meta.name);
  const imageName = archive ? archive.config.rootfsImageName : config.image.image;
  return ctx.locks.run(found.id, async () => {
    const sandbox = ctx.sandboxes.get(found.id);
    if (!sandbox) throw notFound(`pod sandbox ${sandboxId} not found`);
    const nameKey = containerNameKey(sandbox.id, meta.name, meta.attempt);
    const what = `container ${meta.name} attempt ${meta.attempt} in pod ${sandbox.id}`;
    const held = ctx.names.holder(nameKey);
    if (held) {
      const existing = ctx.containers.get(held.id);
      if (held.digest === digest && existing?.state === 'created') {
        logger.info({ pod: sandbox.id, container: existing.id, name: meta.name }, 'identical CreateContainer gets the container already made');
        return existing.id;
      }
      throw alreadyExists(`${what} already exists as ${held.id}${held.digest === digest ? ` (${existing?.state ?? 'being removed'})` : ', made by a different request'}`);
    }
    if (sandbox.state !== 'ready') {
      throw failedPrecondition(`pod sandbox ${sandbox.id} is not ready (${sandbox.state}); cannot add container ${meta.name}`);
    }
    const image = ctx.images.resolve(imageName);
    if (!image) throw notFound(`image "${imageName}" not found${archive ? ` (named by checkpoint archive ${archive.path})` : ''}`);
    // Taken in the same turn as the lookup: a RemoveImage from now on keeps the image's layers.
    const releaseImage = ctx.imageLeases.acquire(image.id);
    const releaseVolumes = leaseVolumeImages(ctx, config.mounts);
    const id = newId();
    ctx.names.reserve(nameKey, { id, digest }, what);
    try {
      return await create(ctx, id, sandbox, config, image, digest, archive);
    } catch (err) {
      // A record left `unknown` keeps its name until RemoveContainer finishes it.
      if (!ctx.containers.get(id)) ctx.names.release(nameKey, id);
      throw err;
    } finally {
      releaseImage();
      releaseVolumes();
    }
  });
}

async function create(
  ctx: RuntimeContext,
  id: string,
  sandbox: Readonly<SandboxRecord>,
  config: ContainerConfig,
  image: NonNullable<ReturnType<RuntimeContext['images']['resolve']>>,
  digest: string,
  archive?: CheckpointArchive,
): Promise<string> {
  const total = stopwatch();
  const meta = config.metadata!;
  const log = logger.child({ pod: sandbox.id, container: id, name: meta.name });
  // runc, under conmon, moves the container's init into its cgroups some 10 ms from now.
  ctx.cgroupLock.prime();
  const security = config.linux?.securityContext;
  if (security?.runAsGroup && !security.runAsUser && !security.runAsUsername) {
    throw invalidArgument(`container ${meta.name}: run_as_group needs run_as_user or run_as_username`);
  }
  checkContainerUserNamespace(security?.namespaceOptions?.usernsOptions, sandbox.userns, `container ${meta.name} in pod ${sandbox.id}`);
  const cdiEdits = await resolveCdiDevices(ctx.config.cdiSpecDirs, requestedCdiDevices(config));
  const resources = config.linux?.resources ? resourceRequest(config.linux.resources) : undefined;
  let targetPid = 0;
  let target: ContainerRecord | undefined;
  const pidMode = containerPidMode({ config, pod: sandbox });
  if (pidMode === NamespaceMode.TARGET) {
    const targetId = security?.namespaceOptions?.targetId ?? '';
    target = ctx.containers.find(targetId);
    if (!target || target.sandboxId !== sandbox.id) throw notFound(`PID namespace target container "${targetId}" not found in pod ${sandbox.id}`);
  }
  const imageVolumes = imageVolumeRequests(ctx, config.mounts);
  const mounts: ContainerMount[] = config.mounts.map((m) => ({
    containerPath: m.containerPath,
    hostPath: m.hostPath,
    readonly: m.readonly,
    propagation: m.propagation,
    selinuxRelabel: m.selinuxRelabel,
    ...(m.recursiveReadOnly ? { recursiveReadOnly: true } : {}),
    ...(m.image?.image ? { image: m.image.image, imageSubPath: m.imageSubPath, readonly: true } : {}),
  }));
  const runtime = ctx.runtimes.forSandbox(sandbox);
  checkRecursiveReadonly(mounts, runtime);
  const logPath = sandbox.logDirectory && config.logPath ? join(sandbox.logDirectory, config.logPath) : '';
  const record: ContainerRecord = {
    id,
    sandboxId: sandbox.id,
    name: meta.name,
    attempt: meta.attempt,
    state: 'created',
    requestDigest: digest,
    createdAt: nowNs().toString(),
    startedAt: '0',
    finishedAt: '0',
    exitCode: 0,
    reason: '',
    message: '',
    labels: { ...config.labels },
    annotations: { ...config.annotations },
    imageSpec: config.image!.image,
    imageId: image.id,
    imageRef: image.repoDigests[0] ?? image.id,
    // A restore's request names its checkpoint archive; its status names the image below it.
    imageName: statusImageName(archive ? archive.config.rootfsImageName : config.image!.image, image),
    imageVolumeIds: imageVolumes.length ? [...new Set(imageVolumes.map((v) => v.image.id))] : undefined,
    logPath,
    mounts,
    // The request's stop signal (Kubernetes 1.33+) wins over the image's STOPSIGNAL.
    stopSignal: config.stopSignal !== Signal.RUNTIME_DEFAULT && config.stopSignal !== Signal.UNRECOGNIZED ? signalToJSON(config.stopSignal) : image.config.stopSignal,
    pid: 0,
    ownPidNamespace: pidMode === NamespaceMode.CONTAINER,
    resources,
    config: ContainerConfig.toJSON(config),
    restoredFrom: archive?.path,
  };

  const dir = ctx.paths.containerDir(id);
  const rw = ctx.paths.containerRw(id);
  const rootfs = join(dir, 'rootfs');
  const rollback = new Rollback();
  const timeline = new StepTimeline();
  try {
    const endLayout = timeline.begin('layout');
    let bundleDir: Promise<void> | undefined;
    let writableLayer: Promise<unknown> | undefined;
    // Both undo steps are idempotent, so they are listed before what they undo is made; each
    // directory is removed once its making has settled, so that no mkdir comes after the removal.
    rollback.add('remove container directory', async () => {
      await bundleDir?.catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    });
    rollback.add('remove writable layer', async () => {
      await writableLayer?.catch(() => undefined);
      await rm(rw, { recursive: true, force: true });
    });
    const makeBundleDir = () => mkdir(dir, { recursive: true, mode: 0o700 }).then(() => chmod(dir, 0o700));
    const conmonLog = logPath || join(dir, 'output.log');
    // conmon opens its log first thing and touches the bundle only once told to go. Its start (a
    // program and its libraries to load, then two forks before runc's) is the longest step before
    // runc reads its spec, so it comes first, after the log's directory alone. That directory is
    // most often there already (kubelet makes the pod's; a restart's is the attempt before's): a
    // look on this thread spares conmon's start a trip through the thread pool.
    if (!logPath) await (bundleDir = makeBundleDir());
    else if (!statSync(dirname(logPath), { throwIfNoEntry: false })?.isDirectory()) await mkdir(dirname(logPath), { recursive: true });

    const conmonOptions = {
      containerId: id,
      name: meta.name,
      bundle: dir,
      logPath: conmonLog,
      exitDir: ctx.paths.exits,
      socketDir: ctx.paths.attach,
      runtimeCommand: runtime.command,
      runcRoot: runtime.rootDir,
      stdin: config.stdin,
      stdinOnce: config.stdinOnce,
      tty: config.tty,
      timeoutMs: ctx.config.toolTimeoutMs,
    };
    // conmon starts now and waits on its start pipe while the rootfs and the spec are made (its
    // own start overlaps them too); a restore's conmon needs the unpacked checkpoint first.
    const early = archive ? undefined : startConmon(ctx.config.conmon, conmonOptions);
    if (early) {
      // A failed start is met where it is awaited, before the go; until then it is not unhandled.
      early.catch(() => undefined);
      rollback.add('stop the waiting conmon', async () => (await early.catch(() => undefined))?.abandon());
    }
    // Made while conmon starts. The writable layer's directory shuts out the node's users; the
    // upper dir itself is the container's `/` (overlayfs gives the root its mode), which every
    // user inside must enter.
    bundleDir ??= makeBundleDir();
    bundleDir.catch(() => undefined);
    writableLayer = mkdir(rw, { recursive: true, mode: 0o700 }).then(() => Promise.all([mkdir(join(rw, 'upper'), { mode: 0o755 }), mkdir(join(rw, 'work'), { mode: 0o700 })]));
    writableLayer.catch(() => undefined);
    await bundleDir;
    // runc 1.x is started now too, and waits for its spec on a pipe: its own start-up overlaps
    // the rootfs and the spec as well.
    const specPipe = early && runtime.features.readsSpecOnce ? await openSpecPipe(dir) : undefined;
    const creating = specPipe && early!.then((waiting) => waiting.proceed());
    if (specPipe && creating) {
      creating.catch(() => undefined);
      // The runtime reads end of file and fails; the pipe's read end stays open until it has
      // ended, so that its number is not reused while the runtime may still open it by name.
      rollback.add('end the runtime waiting for its spec', async () => {
        specPipe.endFeed();
        await creating.catch(() => undefined);
        specPipe.close();
      });
    }

    // The rootfs directory is left to mountRootfs: one it makes itself needs no look in mountinfo.
    if (sandbox.userns) await openToPodRoot(dir, ctx.paths.containersDir, sandbox.userns);
    await writableLayer;
    endLayout();

    const layers = ctx.images.layerDirs(image);
    const staging = idmapStagingDir(dir);
    let rootfsLayers = layers;
    if (sandbox.userns) {
      rollback.add('release idmapped mounts', () => releaseIdmapStaging(staging));
      const pid = await verifiedPid(`pause process of pod ${sandbox.id}`, sandbox.pausePid, sandbox.pauseStart, () => runtime.livePid(sandbox.id));
      rootfsLayers = await stageIdmappedLayers(layers, staging, `/proc/${pid}/ns/user`);
      await chownUpper(join(rw, 'upper'), sandbox.userns);
    }
    await timeline.time('rootfsMount', () => mountRootfs({ layers: rootfsLayers, upper: join(rw, 'upper'), work: join(rw, 'work'), target: rootfs }));
    rollback.add('unmount rootfs', () => unmountRootfs(rootfs));
    const restoreFrom = archive ? await unpackCheckpoint(archive, join(dir, 'restore'), rootfs) : undefined;

    const endSpec = timeline.begin('spec');
    const user = await resolveUser(layers, {
      imageUser: image.config.user,
      runAsUser: security?.runAsUser?.value !== undefined ? Number(security.runAsUser.value) : undefined,
      runAsUsername: security?.runAsUsername || undefined,
      runAsGroup: security?.runAsGroup?.value !== undefined ? Number(security.runAsGroup.value) : undefined,
      supplementalGroups: security?.supplementalGroups?.map(Number),
      strictGroups: security?.supplementalGroupsPolicy === SupplementalGroupsPolicy.Strict,
    });
    // What the spec needs from the host is read here; the spec itself is computed, not patched.
    await ensureMountSources(config.mounts);
    const seccomp = containerSeccompChoice(security);
    rollback.add('unmount image volumes', () => unmountImageVolumes(ctx, id));
    const imageVolumeSources = await mountImageVolumes(ctx, id, imageVolumes);
    // Checked right before the paths to its namespaces go into the spec.
    const pausePid = await verifiedPid(`pause process of pod ${sandbox.id}`, sandbox.pausePid, sandbox.pauseStart, () => runtime.livePid(sandbox.id));
    // A pod with its own user namespace sees its volumes through idmapped mounts of them.
    const volumeSources = sandbox.userns
      ? await stageIdmappedSources(hostMounts(config.mounts).map((m) => m.hostPath), staging, `/proc/${pausePid}/ns/user`, sandbox.userns, log)
      : undefined;
    if (target) targetPid = await verifiedPid(`PID namespace target container ${target.id}`, target.pid, target.pidStart, () => runtime.livePid(target!.id));
    const spec = containerSpec({
      id,
      config,
      image: image.config,
      pod: {
        id: sandbox.id,
        name: sandbox.name,
        namespace: sandbox.namespace,
        uid: sandbox.uid,
        hostname: sandbox.hostname,
        privileged: sandbox.privileged,
        namespaces: sandbox.namespaces,
        netnsPath: sandbox.netnsPath,
        pausePid,
      },
      node: nodeFacts(ctx.minOomScoreAdj),
      rootfs,
      podFiles: { ...podFilePaths(ctx.paths.sandboxDir(sandbox.id)), shm: sandbox.shmPath },
      cgroupsPath: containerCgroupsPath(sandbox, id),
      user,
      targetPid,
      devices: await resolveDevices(config.devices),
      hostDevices: security?.privileged && sandbox.privileged ? hostDevices() : [],
      localhostSeccomp: seccomp.kind === 'localhost' ? loadLocalhostSeccomp(seccomp.path) : undefined,
      imageVolumes: imageVolumeSources,
      runtime,
      userns: sandbox.userns,
      volumeSources,
      cdiEdits,
      checkpointArgs: archive?.spec.process?.args,
    });
    const specJson = JSON.stringify(spec);
    // With the pipe, the file waits beside the link until runc has read the spec (spec-pipe.ts).
    await runtime.writeBundle(dir, specJson, specPipe ? PENDING_SPEC : undefined);
    endSpec();

    // Idempotent, and needed also when conmon fails half-way (the runtime may have made its state);
    // a runtime still reading its spec is waited for first.
    rollback.add('delete runtime container', async () => {
      await creating?.catch(() => undefined);
      await runtime.deleteForce(id);
    });
    const endCreate = timeline.begin('runcCreate');
    let created: ConmonCreated;
    let specFile: Promise<void> | undefined;
    if (specPipe && creating) {
      // A runtime that fails before it has drained the pipe ends the wait too.
      [, created] = await Promise.all([specPipe.feed(specJson), creating]);
      // The link gives way to the file that exec, checkpoints and verbose status read; awaited
      // with the reads of the new processes' start times.
      specFile = specPipe.finish();
      specFile.catch(() => undefined);
    } else {
      const conmon = await (early ?? startConmon(ctx.config.conmon, { ...conmonOptions, restoreFrom }));
      created = await conmon.proceed();
    }
    endCreate();
    // runc holds its own copies of the idmapped mounts now.
    if (sandbox.userns) await releaseIdmapStaging(staging).catch((err) => log.warn({ err }, 'detaching staged idmapped mounts failed; RemoveContainer retries'));
    record.pid = created.containerPid;
    [record.pidStart, record.conmonStart] = await Promise.all([processStart(created.containerPid), processStart(created.conmonPid), specFile]);
    record.conmonPid = created.conmonPid;
    // The record keeps the steps up to here; its own write is timed for the log alone.
    record.timeline = [...timeline.steps];
    await timeline.time('persist', () => ctx.containers.create(record));
    ctx.events.emit({ type: 'created', containerId: id, sandboxId: sandbox.id, at: BigInt(record.createdAt) });
    log.info({ step: 'create', image: image.id, ms: total(), ...timeline.fields() }, 'container created');
    return id;
  } catch (err) {
    const failed = await rollback.run(log);
    if (failed.length > 0) {
      // What could not be undone stays on record, `unknown`, for RemoveContainer to finish.
      await ctx.containers
        .create({ ...record, state: 'unknown', reason: 'CreateFailed', message: String((err as Error).message ?? err), undoLeft: failed })
        .catch((recordErr) => log.error({ err: recordErr }, 'recording a half-undone container failed'));
    }
    throw withContext(`CreateContainer ${meta.name} in pod ${sandbox.id}`, err);
  }
}
