import { logger } from '../log/logger.js';
import type { EventBus } from '../store/events.js';
import type { ImageLeases } from './leases.js';
import type { ImageStore } from './store.js';

/** What the collector needs to know about containers: the image each was created from. */
export interface ContainerImages {
  all(): Iterable<{ imageId: string }>;
}

/**
 * Ids of the images containers use (removed images included: their layers must stay), and of
 * those held by containers being created.
 */
export function imagesInUse(containers: ContainerImages, leases?: ImageLeases): Set<string> {
  const ids = new Set<string>();
  for (const c of containers.all()) if (c.imageId) ids.add(c.imageId);
  if (leases) for (const id of leases.ids()) ids.add(id);
  return ids;
}

/**
 * Keeps the image store bounded while the daemon runs: collects garbage once at start-up (an
 * image removed while a container used it, whose container went while cricket was down; layers
 * of an interrupted removal) and again shortly after containers are deleted. Returns a stop
 * function.
 */
export function startImageGarbageCollection(store: ImageStore, inUse: () => Set<string>, events: EventBus, delayMs = 500): () => void {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const collect = () => {
    timer = undefined;
    running = running
      .then(() => store.collectGarbage(inUse()))
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'image garbage collection failed'));
  };
  collect();
  const unsubscribe = events.subscribe((e) => {
    if (e.type !== 'deleted' || timer) return;
    timer = setTimeout(collect, delayMs);
    timer.unref();
  });
  return () => {
    unsubscribe();
    if (timer) clearTimeout(timer);
  };
}
