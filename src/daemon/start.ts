import { BackgroundRemovals } from '../store/background-removals.js';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { statePaths, type CricketConfig } from '../config/config.js';
import { ExitMonitor } from '../container/exit-monitor.js';
import { spreadWritableLayers } from '../container/writable-layer-dir.js';
import { imagesInUse, startImageGarbageCollection } from '../image/gc.js';
import { ImageLeases } from '../image/leases.js';
import { ImageStore } from '../image/store.js';
import { logger, stopwatch } from '../log/logger.js';
import { CniNetwork } from '../network/cni.js';
import { openRuntimes } from '../oci/runtimes.js';
import { cgroupHost } from '../oci/cgroup-host.js';
import { startCgroupLockPrimer } from '../oci/cgroup-lock-primer.js';
import type { ExitWaiter, RuntimeContext } from '../runtime-context.js';
import { listenUnix } from '../server/listen-unix.js';
import { GrpcServer } from '../server/grpc-server.js';
import { syscalls } from '../process/syscalls.js';
import { DEFAULT_MEMORY_RETURN, exposedGc, MemoryReturn } from './memory-return.js';
import { imageService, imageServiceDefinition } from '../server/image-service.js';
import { runtimeService, runtimeServiceDefinition } from '../server/runtime-service.js';
import { EventBus } from '../store/events.js';
import { KeyedQueue } from '../store/keyed-queue.js';
import { NameIndex } from '../store/name-index.js';
import { RecordStore } from '../store/record-store.js';
import type { ContainerRecord, SandboxRecord } from '../store/types.js';
import { findProgram } from '../process/find-program.js';
import { monitorProgram } from '../oci/monitor-program.js';
import type { MetricsServer } from '../metrics/server.js';
import { StreamingServer } from '../streaming/server.js';
import { indexNames } from './index-names.js';
import { recover } from './recover.js';
import { ensureVolatileStateDir } from './volatile-state.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The pause image `npm run build` makes from native/pause.c. */
export const BUILT_IN_PAUSE_LAYOUT = join(PACKAGE_ROOT, 'build', 'images', 'pause');

export interface RunningDaemon {
  ctx: RuntimeContext;
  close(): Promise<void>;
}

/** Opens the state, recovers from whatever happened while cricket was down, and serves CRI. */
export async function startDaemon(requested: CricketConfig): Promise<RunningDaemon> {
  const elapsed = stopwatch();
  const config = { ...requested, runc: findProgram(requested.runc), conmon: monitorProgram(requested.conmon) };
  const paths = statePaths(config);
  // The roots may be entered (0711: kubelet finds the socket's directory), nothing below them
  // listed or read by anyone but root; existing directories are brought in line too.
  await Promise.all([config.root, config.stateDir].map((d) => ensureDir(d, 0o711)));
  await volatileStateDir(config.stateDir);
  await Promise.all([paths.runcRoot, paths.netns, paths.exits, paths.attach, paths.cniData, paths.sandboxRecords, paths.containerRecords, paths.sandboxesDir, paths.containersDir, paths.rwDir].map((d) => ensureDir(d, 0o700)));
  spreadWritableLayers(paths.rwDir);
  const runtimes = await openRuntimes(config, paths);
  await Promise.all(runtimes.all().map((r) => ensureDir(r.rootDir, 0o700)));
  const images = ImageStore.open(paths.images, config.images);
  if (!images.resolve(config.pauseImage)) {
    await images.importPath(BUILT_IN_PAUSE_LAYOUT, { name: config.pauseImage, pinned: true });
  }
  const ctx: RuntimeContext = {
    config,
    paths,
    sandboxes: await RecordStore.open<SandboxRecord>(paths.sandboxRecords),
    // A container's only on-disk leftover is its writable layer, which recovery removes when no
    // record owns it; runc's state and the bundle are in the state dir, on tmpfs.
    containers: await RecordStore.open<ContainerRecord>(paths.containerRecords, { groupOf: (c) => c.sandboxId, durableCreate: false }),
    images,
    imageLeases: new ImageLeases(),
    names: new NameIndex(),
    network: new CniNetwork({
      confDir: config.cni.confDir,
      binDirs: config.cni.binDirs,
      defaultNetwork: { bridge: config.cni.defaultBridge, subnet: config.cni.defaultSubnet, dataDir: paths.cniData },
      pluginTimeoutMs: config.toolTimeoutMs,
      confTemplate: config.cni.confTemplate,
      podCidrFile: paths.podCidr,
    }),
    runtimes,
    cgroupLock: startCgroupLockPrimer(config.primeCgroupLock, cgroupHost()),
    locks: new KeyedQueue(),
    removals: new BackgroundRemovals(),
    events: new EventBus(),
    minOomScoreAdj: Number.parseInt(await readFile('/proc/self/oom_score_adj', 'utf8').catch(() => '0'), 10) || 0,
    exits: EXITS_NOT_WATCHED,
  };
  await recover(ctx);
  indexNames(ctx);
  const exits = new ExitMonitor(ctx);
  ctx.exits = exits;
  await exits.start();
  const inUse = () => imagesInUse(ctx.containers, ctx.imageLeases);
  const stopImageGc = startImageGarbageCollection(images, inUse, ctx.events);
  const memoryReturn = new MemoryReturn({ ...DEFAULT_MEMORY_RETURN, collect: exposedGc(), trim: syscalls()?.mallocTrim });
  memoryReturn.start(ctx.events);
  const streaming = new StreamingServer(ctx, config.streaming);
  await streaming.start();

  const server = new GrpcServer({ maxReceiveMessageLength: 16 * 1024 * 1024 });
  server.addService(runtimeServiceDefinition, runtimeService(ctx, streaming));
  server.addService(imageServiceDefinition, imageService(images, { registries: config.registries, imagesInUse: inUse }));
  // prom-client and its registry are loaded only when the endpoint is on (about 10 MiB).
  const metrics: MetricsServer | undefined = config.metrics.enabled
    ? await (await import('../metrics/server.js')).startMetricsServer(ctx, config.metrics)
    : undefined;
  const listener = await listenUnix(server, config.socket, { mode: 0o660 });
  logger.info(
    { socket: config.socket, root: config.root, stateDir: config.stateDir, network: ctx.network.name, streaming: streaming.url, metrics: metrics?.url, ms: elapsed() },
    'cricket serving CRI',
  );
  return {
    ctx,
    async close() {
      await listener.close();
      server.close();
      await streaming.close();
      await metrics?.close();
      exits.stop();
      stopImageGc();
      memoryReturn.stop();
      await ctx.removals.drain();
      await ctx.cgroupLock.stop();
    },
  };
}

/** Recovery runs before exits are watched: nothing may wait for one then. */
const EXITS_NOT_WATCHED: ExitWaiter = {
  waitForExit: () => Promise.reject(new Error('container exits are not watched yet')),
  collect: () => Promise.reject(new Error('container exits are not watched yet')),
};

async function volatileStateDir(dir: string): Promise<void> {
  const elapsed = stopwatch();
  try {
    const outcome = await ensureVolatileStateDir(dir);
    logger.info({ stateDir: dir, outcome, ms: elapsed() }, 'state dir checked for tmpfs');
  } catch (err) {
    // Without a tmpfs the state dir still works, only slower and kept across reboots.
    logger.warn({ stateDir: dir, err: (err as Error).message }, 'state dir left on its file system: no tmpfs could be mounted');
  }
}

async function ensureDir(dir: string, mode: number): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
  await chmod(dir, mode);
}
