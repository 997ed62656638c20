import type { BackgroundRemovals } from './store/background-removals.js';
import type { CricketConfig, StatePaths } from './config/config.js';
import type { ImageLeases } from './image/leases.js';
import type { ImageStore } from './image/store.js';
import type { CniNetwork } from './network/cni.js';
import type { CgroupLockPrimer } from './oci/cgroup-lock-primer.js';
import type { RuntimeRegistry } from './oci/runtimes.js';
import type { EventBus } from './store/events.js';
import type { KeyedQueue } from './store/keyed-queue.js';
import type { NameIndex } from './store/name-index.js';
import type { RecordStore } from './store/record-store.js';
import type { ContainerRecord, SandboxRecord } from './store/types.js';

/** Waits for container exits as the exit monitor records them. */
export interface ExitWaiter {
  /** Resolves true when the container has exited (now or within timeoutMs), false on timeout. */
  waitForExit(id: string, timeoutMs: number): Promise<boolean>;
  /** Reads the exit file of one container, if there is one, and records the exit. */
  collect(id: string): Promise<void>;
}

/** The collaborators the sandbox and container operations work with. */
export interface RuntimeContext {
  config: CricketConfig;
  paths: StatePaths;
  sandboxes: RecordStore<SandboxRecord>;
  containers: RecordStore<ContainerRecord>;
  images: ImageStore;
  /** Images held by containers being created, kept by the garbage collector. */
  imageLeases: ImageLeases;
  /** Pod and container names: reserved before anything is made, released on failure or removal. */
  names: NameIndex;
  network: CniNetwork;
  /** OCI runtime handlers (runc, crun): pick a pod's with `forSandbox`, never a fixed one. */
  runtimes: RuntimeRegistry;
  /** Readies the kernel's cgroup migration lock ahead of runc: prime() as a create or exec begins. */
  cgroupLock: CgroupLockPrimer;
  /**
   * Serialises operations on one pod or container id. Order: a pod's lock before any of its
   * containers' locks.
   */
  locks: KeyedQueue;
  events: EventBus;
  /** cricket's own oom_score_adj: nothing may go below it on this host (see DESIGN.md). */
  minOomScoreAdj: number;
  /** Container exits, recorded from conmon's exit files. */
  exits: ExitWaiter;
  /** Directories of removed containers, deleted after RemoveContainer answered. */
  removals: BackgroundRemovals;
}
