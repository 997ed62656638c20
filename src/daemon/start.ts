import { Server } from '@grpc/grpc-js';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { statePaths, type CricketConfig } from '../config/config.js';
import { ExitMonitor } from '../container/exit-monitor.js';
import { RuntimeServiceService, ImageServiceService } from '../gen/runtime/v1/api.js';
import { imagesInUse, startImageGarbageCollection } from '../image/gc.js';
import { ImageStore } from '../image/store.js';
import { logger, stopwatch } from '../log/logger.js';
import { CniNetwork } from '../network/cni.js';
import { Runc } from '../oci/runc.js';
import type { RuntimeContext } from '../runtime-context.js';
import { listenUnix } from '../server/authority.js';
import { imageService } from '../server/image-service.js';
import { runtimeService } from '../server/runtime-service.js';
import { EventBus } from '../store/events.js';
import { KeyedMutex } from '../store/keyed-mutex.js';
import { RecordStore } from '../store/record-store.js';
import type { ContainerRecord, SandboxRecord } from '../store/types.js';
import { findProgram } from '../process/find-program.js';
import { startMetricsServer, type MetricsServer } from '../metrics/server.js';
import { StreamingServer } from '../streaming/server.js';
import { recover } from './recover.js';

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
  const config = { ...requested, runc: findProgram(requested.runc), conmon: findProgram(requested.conmon) };
  const paths = statePaths(config);
  await Promise.all(
    [config.root, config.stateDir, paths.runcRoot, paths.netns, paths.exits, paths.attach, paths.cniData].map((d) =>
      mkdir(d, { recursive: true, mode: 0o711 }),
    ),
  );
  const images = await ImageStore.open(paths.images);
  if (!images.resolve(config.pauseImage)) {
    await images.importPath(BUILT_IN_PAUSE_LAYOUT, { name: config.pauseImage, pinned: true });
  }
  const ctx: RuntimeContext = {
    config,
    paths,
    sandboxes: await RecordStore.open<SandboxRecord>(paths.sandboxRecords),
    containers: await RecordStore.open<ContainerRecord>(paths.containerRecords),
    images,
    network: new CniNetwork({
      confDir: config.cni.confDir,
      binDirs: config.cni.binDirs,
      defaultNetwork: { bridge: config.cni.defaultBridge, subnet: config.cni.defaultSubnet, dataDir: paths.cniData },
      pluginTimeoutMs: config.toolTimeoutMs,
    }),
    runc: new Runc(config.runc, paths.runcRoot, config.toolTimeoutMs),
    locks: new KeyedMutex(),
    events: new EventBus(),
    minOomScoreAdj: Number.parseInt(await readFile('/proc/self/oom_score_adj', 'utf8').catch(() => '0'), 10) || 0,
  };
  await recover(ctx);
  const exits = new ExitMonitor(ctx);
  await exits.start();
  const stopImageGc = startImageGarbageCollection(images, ctx.containers, ctx.events);
  const streaming = new StreamingServer(ctx, config.streaming);
  await streaming.start();
  ctx.streaming = streaming;

  const server = new Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  server.addService(RuntimeServiceService, runtimeService(ctx, exits));
  server.addService(ImageServiceService, imageService(images, { registries: config.registries, imagesInUse: () => imagesInUse(ctx.containers) }));
  const listener = await listenUnix(server, config.socket, { mode: 0o660 });
  const metrics: MetricsServer | undefined = config.metrics.enabled ? await startMetricsServer(ctx, config.metrics) : undefined;
  logger.info(
    { socket: config.socket, root: config.root, stateDir: config.stateDir, network: ctx.network.name, streaming: streaming.url, metrics: metrics?.url, ms: elapsed() },
    'cricket serving CRI',
  );
  return {
    ctx,
    async close() {
      await listener.close();
      server.forceShutdown();
      await streaming.close();
      await metrics?.close();
      exits.stop();
      stopImageGc();
    },
  };
}
