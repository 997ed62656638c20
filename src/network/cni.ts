import { join } from 'node:path';
import { pluginsForPod } from './plugins-for-pod.js';
import { CricketError, failedPrecondition, invalidArgument, withContext } from '../errors.js';
import { KeyedQueue } from '../store/keyed-queue.js';
import { logger, stopwatch } from '../log/logger.js';
import {
  type CniNetworkConfList,
  type DefaultNetworkOptions,
  DEFAULT_BIN_DIRS,
  DEFAULT_NETWORK_NAME,
  type FallbackNetwork,
  findPluginBinary,
  NetworkConfigSource,
  validateConfList,
} from './config.js';
import { hasIpReservations, nextBridgeName } from './bridge-generation.js';
import { isNetnsMounted } from './netns.js';
import { releaseOrphanReservations } from './orphan-reservations.js';
import { loadSavedPodCidr, readTemplateFile, renderConfForPodCidrs, savePodCidr, writeRenderedConf } from './node-pod-cidr.js';
import { type PodCidr, parsePodCidrs } from './pod-cidr.js';
import {
  buildCniArgs,
  buildPluginStdin,
  type CniCommand,
  invokePlugin,
  type RuntimeValues,
  validateContainerId,
} from './plugin.js';
import { podIpsFromResult } from './result.js';
import type { NetworkStatus, PodNetworkRequest, PodNetworkResult } from './types.js';

export interface CniNetworkOptions {
  /** Where network configuration lists are looked for, e.g. /etc/cni/net.d. */
  confDir: string;
  /** Where plugin executables are looked for, in order; default /opt/cni/bin, /usr/lib/cni. */
  binDirs?: readonly string[];
  /** The embedded network used when confDir holds no config; `false` means not ready instead. */
  defaultNetwork?: DefaultNetworkOptions | false;
  /** Interface name inside the pod; default eth0. */
  ifName?: string;
  /** Limit for each single plugin call; default 30 s. */
  pluginTimeoutMs?: number;
  /**
   * An operator's conflist template (containerd's `conf_template` form), rendered into the conf
   * dir with the node's pod CIDR once kubelet sends it; until then the network is not ready.
   */
  confTemplate?: string;
  /** Where the node's pod CIDR is kept across restarts. */
  podCidrFile?: string;
}

export const NETWORK_NOT_READY = 'NetworkPluginNotReady';

/**
 * A pod network made of a CNI plugin chain (CNI spec 1.0, section 3: execution of network
 * configurations): ADD runs the plugins in order, each given the previous one's result;
 * DEL runs them in reverse with the ADD's final result.
 */
export class CniNetwork {
  private readonly source: NetworkConfigSource;
  private readonly binDirs: readonly string[];
  private readonly ifName: string;
  private readonly timeoutMs: number;
  /** The spec forbids concurrent operations on one container: they wait in line per pod. */
  private readonly perPod = new KeyedQueue();
  private readonly confDir: string;
  private readonly defaultNetwork: DefaultNetworkOptions | false;
  private readonly confTemplate: string | undefined;
  private readonly podCidrFile: string | undefined;
  private podCidrs: PodCidr[] = [];
  /** The embedded network's bridge when a CIDR change moved new pods off the configured one. */
  private bridge: string | undefined;
  /** Pod CIDR updates run one after another, in arrival order. */
  private cidrUpdates: Promise<unknown> = Promise.resolve();

  constructor(opts: CniNetworkOptions) {
    this.binDirs = opts.binDirs && opts.binDirs.length > 0 ? [...opts.binDirs] : DEFAULT_BIN_DIRS;
    this.confDir = opts.confDir;
    this.defaultNetwork = opts.defaultNetwork ?? {};
    this.confTemplate = opts.confTemplate || undefined;
    this.podCidrFile = opts.podCidrFile;
    this.source = new NetworkConfigSource({ confDir: opts.confDir, binDirs: this.binDirs, defaultNetwork: this.fallback() });
    this.ifName = opts.ifName ?? 'eth0';
    this.timeoutMs = opts.pluginTimeoutMs ?? 30_000;
    this.restorePodCidr();
  }

  /** The node's pod CIDR(s) as last applied, comma-separated ('' before kubelet sent one). */
  get podCidr(): string {
    return this.podCidrs.map((r) => r.cidr).join(',');
  }

  /**
   * Applies the node's pod CIDR from UpdateRuntimeConfig: with a conf template, renders it into
   * the conf dir; otherwise the embedded network takes the range(s) for new pods. Pods already
   * set up keep the configuration they were added with (PodNetworkResult.config) for their DEL.
   * An empty value changes nothing, as kubelet sends one only once it knows the CIDR.
   */
  async updatePodCidr(value: string): Promise<void> {
    const ranges = parsePodCidrs(value);
    const run = this.cidrUpdates.catch(() => undefined).then(() => this.applyPodCidr(ranges));
    this.cidrUpdates = run;
    await run;
  }

  private async applyPodCidr(ranges: PodCidr[]): Promise<void> {
    if (ranges.length === 0) return;
    const next = ranges.map((r) => r.cidr).join(',');
    const changed = next !== this.podCidr;
    if (!changed && !this.confTemplate) return;
    if (this.confTemplate) {
      const text = renderConfForPodCidrs(readTemplateFile(this.confTemplate), this.confTemplate, ranges);
      const file = await writeRenderedConf(this.confDir, text).catch((err: unknown) => {
        throw withContext(`write the CNI config rendered from ${this.confTemplate} into ${this.confDir}`, err);
      });
      if (changed) logger.info({ podCidr: next, template: this.confTemplate, file }, 'CNI config rendered for the pod CIDR');
    }
    let bridge = this.bridge;
    if (changed && !this.confTemplate && this.defaultNetwork !== false) {
      const base = this.defaultNetwork.bridge ?? 'cricket0';
      // Pods on the current bridge keep its gateway; new pods go to a bridge of their own.
      if (hasIpReservations(this.defaultNetwork.dataDir, this.defaultNetwork.name ?? DEFAULT_NETWORK_NAME)) bridge = nextBridgeName(base, bridge ?? base);
    }
    if (this.podCidrFile) {
      await savePodCidr(this.podCidrFile, { ranges, bridge }).catch((err: unknown) => {
        throw withContext(`save pod CIDR to ${this.podCidrFile}`, err);
      });
    }
    this.podCidrs = ranges;
    this.bridge = bridge;
    this.source.setFallback(this.fallback());
    if (changed && !this.confTemplate) logger.info({ podCidr: next, bridge }, 'pod CIDR updated; new pods get addresses from it');
  }

  /** The network used when the conf dir is empty, for the pod CIDR known now. */
  private fallback(): FallbackNetwork {
    if (this.confTemplate) {
      if (this.podCidrs.length === 0) {
        return { notReady: `no pod CIDR yet: CNI conf template ${this.confTemplate} is rendered into ${this.confDir} once kubelet sends the node's pod CIDR (UpdateRuntimeConfig)` };
      }
      return { notReady: `no network config in ${this.confDir}, though conf template ${this.confTemplate} was rendered there for pod CIDR ${this.podCidr}` };
    }
    if (this.defaultNetwork === false || this.podCidrs.length === 0) return this.defaultNetwork;
    // A gateway of an earlier range left on the bridge by pods long gone may be replaced.
    const opts = { ...this.defaultNetwork, podCidrs: this.podCidrs.map((r) => r.cidr), forceAddress: true };
    return this.bridge ? { ...opts, bridge: this.bridge } : opts;
  }

  /** A pod CIDR saved before a restart applies again at once (kubelet will not send it twice). */
  private restorePodCidr(): void {
    if (!this.podCidrFile) return;
    try {
      const { ranges, bridge } = loadSavedPodCidr(this.podCidrFile);
      if (ranges.length === 0) return;
      this.bridge = bridge;
      if (this.confTemplate) {
        // Render again: the template may have changed while cricket was down.
        this.updatePodCidr(ranges.map((r) => r.cidr).join(',')).catch((err: unknown) => {
          logger.error({ err: String(err), template: this.confTemplate }, 'rendering the CNI conf template for the saved pod CIDR failed');
        });
        return;
      }
      this.podCidrs = ranges;
      this.source.setFallback(this.fallback());
    } catch (err) {
      logger.error({ err: String(err), file: this.podCidrFile }, 'saved pod CIDR is unusable; waiting for kubelet to send one');
    }
  }

  /**
   * Start-up recovery: frees the embedded network's addresses that no pod in `livePodIds` holds.
   * Its reservations are in cricket's own data dir; an operator's network keeps its own.
   */
  async releaseOrphanAddresses(livePodIds: ReadonlySet<string>): Promise<string[]> {
    if (this.defaultNetwork === false || !this.defaultNetwork.dataDir) return [];
    return releaseOrphanReservations(join(this.defaultNetwork.dataDir, this.defaultNetwork.name ?? DEFAULT_NETWORK_NAME), livePodIds);
  }

  /** Name of the network in use ('' when no configuration could be loaded). */
  get name(): string {
    const state = this.source.current();
    return state.ok ? state.network.config.name : (state.config?.name ?? '');
  }

  /** The configuration new pods get now, if one could be loaded. */
  get config(): CniNetworkConfList | undefined {
    const state = this.source.current();
    return state.ok ? state.network.config : state.config;
  }

  /** Cheap (a few stat calls): kubelet asks every second. */
  status(): NetworkStatus {
    const state = this.source.current();
    if (state.ok) return { ready: true, reason: '', message: '' };
    return { ready: false, reason: NETWORK_NOT_READY, message: `Network plugin returns error: ${state.message}` };
  }

  /** CNI ADD of the pod's pinned netns; on failure whatever was added is deleted again. */
  async setUp(req: PodNetworkRequest): Promise<PodNetworkResult> {
    validateContainerId(req.podId);
    const cniArgs = buildCniArgs(req);
    const state = this.source.current();
    if (!state.ok) throw failedPrecondition(`pod ${req.podId}: pod network not ready: ${state.message}`);
    const config = pluginsForPod(state.network.config, { portMappings: req.portMappings ?? [], loopbackUp: req.loopbackUp });
    return this.exclusive(req.podId, async () => {
      const took = stopwatch();
      if (!(await isNetnsMounted(req.netnsPath))) {
        throw failedPrecondition(`pod ${req.podId}: network namespace ${req.netnsPath} does not exist`);
      }
      const result = await this.add(config, req, cniArgs);
      const ips = podIpsFromResult(result, this.ifName);
      if (ips.length === 0) {
        await this.del(config, req, cniArgs, req.netnsPath, result).catch((err: unknown) => {
          logger.warn({ podId: req.podId, err: String(err) }, 'CNI DEL after an ADD without IPs failed');
        });
        throw new CricketError('internal', `pod ${req.podId}: CNI ADD on network ${config.name} returned no IP address for ${this.ifName}`);
      }
      logger.info({ podId: req.podId, network: config.name, ips, ms: took() }, 'pod network set up');
      return { ips, result, networkName: config.name, config: JSON.stringify(config) };
    });
  }

  /**
   * CNI DEL, tolerant: it runs every plugin even when some fail or the netns is gone (IPAM
   * must still release the address), then reports all failures at once. `configJson` is
   * PodNetworkResult.config, so DEL uses the network the ADD used; otherwise the current one.
   */
  async tearDown(req: PodNetworkRequest, prevResult?: unknown, configJson?: string): Promise<void> {
    validateContainerId(req.podId);
    const cniArgs = buildCniArgs(req);
    const config = this.configFor(req.podId, configJson);
    await this.exclusive(req.podId, async () => {
      const took = stopwatch();
      // A missing or unmounted netns is passed as empty: plugins then clean up what they can.
      const netns = req.netnsPath && (await isNetnsMounted(req.netnsPath)) ? req.netnsPath : '';
      await this.del(config, req, cniArgs, netns, prevResult);
      logger.info({ podId: req.podId, network: config.name, netnsGone: netns === '', ms: took() }, 'pod network torn down');
    });
  }

  /** CNI CHECK (spec 0.4.0 and later, unless the network disables it); throws the first failure. */
  async check(req: PodNetworkRequest, prevResult: unknown, configJson?: string): Promise<void> {
    validateContainerId(req.podId);
    const cniArgs = buildCniArgs(req);
    const config = this.configFor(req.podId, configJson);
    if (config.disableCheck === true || compareVersions(config.cniVersion, '0.4.0') < 0) return;
    if (prevResult === undefined || prevResult === null) {
      throw failedPrecondition(`pod ${req.podId}: CNI CHECK needs the result of the pod's ADD`);
    }
    await this.exclusive(req.podId, async () => {
      for (const plugin of config.plugins) {
        await this.call('CHECK', config, plugin, req, cniArgs, req.netnsPath, prevResult);
      }
    });
  }

  private async add(config: CniNetworkConfList, req: PodNetworkRequest, cniArgs: string): Promise<unknown> {
    let prev: unknown;
    for (let i = 0; i < config.plugins.length; i++) {
      const plugin = config.plugins[i]!;
      try {
        const out = await this.call('ADD', config, plugin, req, cniArgs, req.netnsPath, prev);
        if (out !== undefined) prev = out;
      } catch (err) {
        // Undo this plugin too: a failed ADD may leave half its work (DEL is idempotent).
        const partial: CniNetworkConfList = { ...config, plugins: config.plugins.slice(0, i + 1) };
        try {
          await this.del(partial, req, cniArgs, req.netnsPath, prev);
        } catch (undoErr) {
          const msg = undoErr instanceof Error ? undoErr.message : String(undoErr);
          logger.warn({ podId: req.podId, network: config.name, err: msg }, 'CNI DEL after a failed ADD failed');
          const base = err instanceof CricketError ? err : new CricketError('internal', String(err));
          throw new CricketError(base.kind, `${base.message} (and undoing it failed: ${msg})`, { cause: err });
        }
        throw err;
      }
    }
    return prev;
  }

  private async del(
    config: CniNetworkConfList,
    req: PodNetworkRequest,
    cniArgs: string,
    netns: string,
    prevResult: unknown,
  ): Promise<void> {
    // prevResult on DEL came with spec 0.4.0; older plugins may reject unknown fields.
    const prev = compareVersions(config.cniVersion, '0.4.0') >= 0 ? prevResult : undefined;
    const failures: Error[] = [];
    for (const plugin of [...config.plugins].reverse()) {
      try {
        await this.call('DEL', config, plugin, req, cniArgs, netns, prev);
      } catch (err) {
        failures.push(err instanceof Error ? err : new Error(String(err)));
      }
    }
    if (failures.length > 0) {
      const kind = failures.every((f) => f instanceof CricketError && f.kind === 'deadline-exceeded')
        ? 'deadline-exceeded'
        : 'internal';
      throw new CricketError(
        kind,
        `pod ${req.podId}: CNI DEL on network ${config.name}: ${failures.map((f) => f.message).join('; ')}`,
        { cause: new AggregateError(failures) },
      );
    }
  }

  private async call(
    command: CniCommand,
    config: CniNetworkConfList,
    plugin: CniNetworkConfList['plugins'][number],
    req: PodNetworkRequest,
    cniArgs: string,
    netns: string,
    prevResult: unknown,
  ): Promise<unknown> {
    const pluginPath = findPluginBinary(plugin.type, this.binDirs);
    if (!pluginPath) {
      throw failedPrecondition(
        `CNI ${command} of plugin ${plugin.type} (network ${config.name}, pod ${req.podId}) failed: not found in ${this.binDirs.join(':')}`,
      );
    }
    const runtime: RuntimeValues = { portMappings: req.portMappings ?? [] };
    const took = stopwatch();
    const out = await invokePlugin({
      command,
      containerId: req.podId,
      netns,
      ifName: this.ifName,
      cniArgs,
      binDirs: this.binDirs,
      network: config.name,
      pluginType: plugin.type,
      pluginPath,
      stdin: buildPluginStdin(config, plugin, runtime, prevResult),
      timeoutMs: this.timeoutMs,
    });
    logger.debug({ podId: req.podId, network: config.name, plugin: plugin.type, command, ms: took() }, 'CNI plugin call');
    return out;
  }

  private configFor(podId: string, configJson: string | undefined): CniNetworkConfList {
    if (configJson) {
      try {
        return validateConfList(JSON.parse(configJson) as Record<string, unknown>, `saved config of pod ${podId}`);
      } catch (err) {
        throw invalidArgument(`pod ${podId}: saved network config is unusable: ${(err as Error).message}`);
      }
    }
    const state = this.source.current();
    if (state.ok) return state.network.config;
    if (state.config) return state.config;
    throw failedPrecondition(`pod ${podId}: no CNI network config to run DEL with: ${state.message}`);
  }

  private exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.perPod.run(key, fn);
  }
}

/** Compares dotted numeric versions ("0.4.0" < "1.0.0"); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
