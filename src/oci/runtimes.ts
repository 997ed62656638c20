import { failedPrecondition, invalidArgument } from '../errors.js';
import { logger } from '../log/logger.js';
import { findProgram } from '../process/find-program.js';
import { nativeTool } from '../process/native-tools.js';
import { refusesHybridCgroups, unifiedHoldsControllers } from './hybrid-cgroups.js';
import { Runc } from './runc.js';
import { probeFeatures } from './runtime-features.js';
import { probeSpecPipe } from './spec-pipe-probe.js';
import { sealedRuntimePath } from './sealed-runtime.js';

/** The handler kubelet means by an empty RuntimeClass handler. */
export const DEFAULT_HANDLER = 'runc';

/**
 * The OCI runtime handlers this node offers, by name. A pod's handler is chosen once, at
 * RunPodSandbox, and every runtime call for its pause process and containers goes to it.
 */
export class RuntimeRegistry {
  private readonly byName: ReadonlyMap<string, Runc>;

  constructor(handlers: Runc[]) {
    this.byName = new Map(handlers.map((h) => [h.handler, h]));
    if (!this.byName.has(DEFAULT_HANDLER)) throw new Error(`the ${DEFAULT_HANDLER} runtime handler is missing`);
  }

  /** Handler names as Status lists them: '' (the default) first. */
  names(): string[] {
    return ['', ...this.byName.keys()];
  }

  all(): Runc[] {
    return [...this.byName.values()];
  }

  /** The handler a RunPodSandbox request names; INVALID_ARGUMENT for one this node lacks. */
  forHandler(name: string): Runc {
    const runtime = this.byName.get(name || DEFAULT_HANDLER);
    if (!runtime) {
      const offered = [...this.byName.keys()].map((n) => `"${n}"`).join(', ');
      throw invalidArgument(`unknown runtime handler "${name}" (this node offers ${offered})`);
    }
    return runtime;
  }

  /**
   * The handler a pod was made with. A pod whose handler has since left the config cannot be
   * driven by another runtime (its state lives in that runtime's root).
   */
  forSandbox(record: { id: string; runtimeHandler: string }): Runc {
    const runtime = this.byName.get(record.runtimeHandler || DEFAULT_HANDLER);
    if (!runtime) throw failedPrecondition(`pod ${record.id} runs under runtime handler "${record.runtimeHandler}", which is no longer configured`);
    return runtime;
  }
}

/** What of the daemon's config the handlers are made from. */
export interface RuntimeSettings {
  runc: string;
  toolTimeoutMs: number;
  runtimes: Record<string, { binary: string; root?: string }>;
}

/** Where each handler keeps its state unless the config says otherwise. */
export interface RuntimeRoots {
  runcRoot: string;
  runtimeRoot(handler: string): string;
  /** Where the start-up probes make their scratch bundles. */
  probes: string;
}

/**
 * The handlers from the config: runc always (top-level `runc` path unless `[runtimes.runc]`
 * says otherwise), every `[runtimes.NAME]`, and crun when it is installed and not configured.
 * Each one's features are probed here, once.
 */
export async function openRuntimes(config: RuntimeSettings, paths: RuntimeRoots): Promise<RuntimeRegistry> {
  const wanted = new Map<string, { binary: string; root: string }>();
  const runcConfig = config.runtimes[DEFAULT_HANDLER];
  wanted.set(DEFAULT_HANDLER, { binary: findProgram(runcConfig?.binary ?? config.runc), root: runcConfig?.root || paths.runcRoot });
  for (const [name, handler] of Object.entries(config.runtimes)) {
    if (name === DEFAULT_HANDLER) continue;
    wanted.set(name, { binary: findProgram(handler.binary), root: handler.root || paths.runtimeRoot(name) });
  }
  if (!wanted.has('crun')) {
    try {
      wanted.set('crun', { binary: findProgram('crun'), root: paths.runtimeRoot('crun') });
    } catch {
      // Not installed: the node offers runc alone.
    }
  }
  // Recovery reads each root as one handler's: two handlers on one root would claim each other's.
  const roots = new Map<string, string>();
  for (const [name, { root }] of wanted) {
    const other = roots.get(root);
    if (other !== undefined) throw new Error(`runtime handlers "${other}" and "${name}" share the state root ${root}; give each its own`);
    roots.set(root, name);
  }
  const hybrid = unifiedHoldsControllers();
  const handlers = await Promise.all(
    [...wanted].map(async ([name, { binary, root }]) => {
      let features = await probeFeatures(binary, config.toolTimeoutMs);
      // On a hybrid host whose cgroup2 side holds controllers, crun runs in a mount namespace
      // without that side: it then manages the v1 hierarchies alone, as runc does.
      const launcher = hybrid && refusesHybridCgroups(binary) ? [nativeTool('cricket-mount'), 'without-unified'] : [];
      const startFrom = features.copiesItselfAtInit ? sealedRuntimePath(binary, name) : binary;
      if (features.readsSpecOnce) {
        const probe = await probeSpecPipe([...launcher, startFrom], paths.probes, config.toolTimeoutMs).catch((err: Error) => ({ works: false, why: err.message }));
        if (!probe.works) features = { ...features, readsSpecOnce: false, notes: [...features.notes, `the runtime cannot read its spec from a pipe here: ${probe.why}`] };
      }
      logger.info({ handler: name, binary, startFrom, root, launcher, recursiveReadOnlyMounts: features.recursiveReadOnlyMounts, userNamespaces: features.userNamespaces, specPipe: features.readsSpecOnce, notes: features.notes }, 'runtime handler');
      return new Runc(startFrom, root, config.toolTimeoutMs, name, features, launcher);
    }),
  );
  return new RuntimeRegistry(handlers);
}
