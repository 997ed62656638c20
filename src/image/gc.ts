import { logger } from '../log/logger.js';
import type { EventBus } from '../store/events.js';
import type { ImageLeases } from './leases.js';
import type { ImageStore } from './store.js';

/** What the collector needs to know about containers: the image each was created from, and those it mounts. */
export interface ContainerImages {
  all(): Iterable<{ imageId: string; imageVolumeIds?: readonly string[] }>;
}

/**
 * Ids of the images containers use or mount as volumes (removed images included: their layers
 * must stay), and of
 * those held by containers being created.
 */
export function imagesInUse(containers: ContainerImages, leases?: ImageLeases): Set<string> {
  const ids = new Set<string>();
  for (const c of containers.all()) {
    if (c.imageId) ids.add(c.imageId);
    for (const id of c.imageVolumeIds ?? []) ids.add(id);
  }
  if (leases) for (const id of leases.ids()) ids.add(id);
  return ids;
}

/** A failed collection (a full disk, a lock held too long) is tried again, at most this far apart. */
const RETRY_MAX_MS = 60_000;

/**
 * Keeps the image store bounded while the daemon runs: collects garbage once at start-up (an
 * image removed while a container used it, whose container went while cricket was down; layers
 * of an interrupted removal) and again shortly after containers are deleted. A collection that
 * fails is logged and tried again later with a growing delay: freeing space matters most when
 * the disk is full. Returns a stop function.
 */
export function startImageGarbageCollection(store: ImageStore, inUse: () => Set<string>, events: EventBus, delayMs = 500): () => void {
  let timer: NodeJS.Timeout | undefined;
  let dueAt = 0;
  let running: Promise<unknown> = Promise.resolve();
  let failures = 0;
  let stopped = false;
  /** Runs a collection in `ms`, or sooner if one is already due sooner. */
  const schedule = (ms: number) => {
    if (stopped || (timer && dueAt <= Date.now() + ms)) return;
    if (timer) clearTimeout(timer);
    dueAt = Date.now() + ms;
    timer = setTimeout(collect, ms);
    timer.unref();
  };
  const collect = () => {
    timer = undefined;
    running = running
      .then(() => store.collectGarbage(inUse()))
      .then(
        () => {
          failures = 0;
        },
        (err: unknown) => {
          failures++;
          const retryInMs = Math.min(RETRY_MAX_MS, delayMs * 2 ** Math.min(failures, 10));
          logger.warn({ step: 'image garbage collection', root: store.root, err: err instanceof Error ? err.message : String(err), failures, retryInMs }, 'image garbage collection failed');
          schedule(retryInMs);
        },
      );
  };
  collect();
  const unsubscribe = events.subscribe((e) => {
    if (e.type === 'deleted') schedule(delayMs);
  });
  return () => {
    stopped = true;
    unsubscribe();
    if (timer) clearTimeout(timer);
  };
}
