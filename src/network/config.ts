import { accessSync, constants as fsConstants, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parsePodCidrs, routesFor } from './pod-cidr.js';

/** One plugin of a network configuration list; plugin-specific keys pass through untouched. */
export interface CniPluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface CniNetworkConfList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: CniPluginConf[];
  [key: string]: unknown;
}

/** Knobs of the embedded network used when the conf dir holds no configuration. */
export interface DefaultNetworkOptions {
  /** Network name; default `cricket`. */
  name?: string;
  /** Linux bridge; default `cricket0`. */
  bridge?: string;
  /** Pod subnet (host-local IPAM) when the node has no pod CIDR; default 10.85.0.0/16. */
  subnet?: string;
  /** The node's pod CIDR(s) from kubelet (one per family); they replace `subnet`. */
  podCidrs?: readonly string[];
  /** Let the bridge plugin replace a bridge address of another range (set only when no pod uses it). */
  forceAddress?: boolean;
  /** host-local's reservation directory; give each daemon its own so they never collide. */
  dataDir?: string;
}

export const DEFAULT_BIN_DIRS: readonly string[] = ['/opt/cni/bin', '/usr/lib/cni'];
export const DEFAULT_CONF_DIR = '/etc/cni/net.d';
export const DEFAULT_NETWORK_SOURCE = '<embedded default>';
/** The embedded network's name, and so the name of its host-local reservation directory. */
export const DEFAULT_NETWORK_NAME = 'cricket';
const CONF_EXTENSIONS = ['.conflist', '.conf', '.json'];
/** Network names and plugin types become file and executable names: keep them plain. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const VERSION_RE = /^\d+\.\d+\.\d+$/;

export class NetworkConfigError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
    this.name = 'NetworkConfigError';
  }
}

/**
 * The embedded network: a bridge whose address is each range's gateway, host-local IPAM over the
 * node's pod CIDR(s) (one range set per family), portmap for hostPorts, loopback. No
 * masquerading: traffic between pod CIDRs of different nodes keeps the pod's source address.
 */
export function defaultNetworkConfig(opts: DefaultNetworkOptions = {}): CniNetworkConfList {
  const subnets = opts.podCidrs && opts.podCidrs.length > 0 ? [...opts.podCidrs] : [opts.subnet ?? '10.85.0.0/16'];
  let routes: string[];
  try {
    routes = routesFor(parsePodCidrs(subnets.join(',')));
  } catch {
    // An odd configured subnet is host-local's to reject at ADD, with its own message.
    routes = subnets.map((s) => (s.includes(':') ? '::/0' : '0.0.0.0/0'));
  }
  const ipam: Record<string, unknown> = {
    type: 'host-local',
    ranges: subnets.map((subnet) => [{ subnet }]),
    routes: routes.map((dst) => ({ dst })),
  };
  if (opts.dataDir) ipam.dataDir = opts.dataDir;
  return {
    cniVersion: '1.0.0',
    name: opts.name ?? DEFAULT_NETWORK_NAME,
    plugins: [
      {
        type: 'bridge',
        bridge: opts.bridge ?? 'cricket0',
        isGateway: true,
        ...(opts.forceAddress ? { forceAddress: true } : {}),
        ipMasq: false,
        hairpinMode: true,
        ipam,
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'loopback' },
    ],
  };
}

/**
 * Parses and validates one file's content. A single-plugin `.conf`/`.json` is wrapped into a
 * list the way libcni does, so the rest of the code sees only lists.
 */
export function parseNetworkConfig(text: string, source: string): CniNetworkConfList {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new NetworkConfigError(source, `invalid JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new NetworkConfigError(source, 'not a JSON object');
  let list: Record<string, unknown>;
  if (Array.isArray(raw.plugins)) {
    list = raw;
  } else if (typeof raw.type === 'string' && !source.endsWith('.conflist')) {
    const { name, cniVersion, ...plugin } = raw;
    list = { name, cniVersion, plugins: [plugin] };
  } else {
    throw new NetworkConfigError(source, 'no "plugins" list');
  }
  return validateConfList(list, source);
}

export function validateConfList(list: Record<string, unknown>, source: string): CniNetworkConfList {
  const { name, cniVersion, plugins } = list;
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new NetworkConfigError(source, `invalid or missing network "name": ${JSON.stringify(name)}`);
  }
  if (typeof cniVersion !== 'string' || !VERSION_RE.test(cniVersion)) {
    throw new NetworkConfigError(source, `invalid or missing "cniVersion": ${JSON.stringify(cniVersion)}`);
  }
  if (!Array.isArray(plugins) || plugins.length === 0) {
    throw new NetworkConfigError(source, 'network has no plugins');
  }
  plugins.forEach((p: unknown, i) => {
    if (!isObject(p)) throw new NetworkConfigError(source, `plugin ${i} is not an object`);
    if (typeof p.type !== 'string' || !NAME_RE.test(p.type)) {
      throw new NetworkConfigError(source, `plugin ${i} has an invalid or missing "type": ${JSON.stringify(p.type)}`);
    }
    if (p.capabilities !== undefined && !isObject(p.capabilities)) {
      throw new NetworkConfigError(source, `plugin ${i} (${p.type}): "capabilities" must be an object`);
    }
  });
  if (list.disableCheck !== undefined && typeof list.disableCheck !== 'boolean') {
    throw new NetworkConfigError(source, '"disableCheck" must be a boolean');
  }
  return list as CniNetworkConfList;
}

/** Candidate configuration files of `dir` in lexical order; empty when the dir is missing. */
export function listConfFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => CONF_EXTENSIONS.includes(path.extname(n)) && !n.startsWith('.'))
    .sort()
    .map((n) => path.join(dir, n));
}

/** First executable named `type` in `binDirs`, or undefined. */
export function findPluginBinary(type: string, binDirs: readonly string[]): string | undefined {
  for (const dir of binDirs) {
    const p = path.join(dir, type);
    try {
      accessSync(p, fsConstants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not in this dir
    }
  }
  return undefined;
}

/** The configuration in use and where its plugins live. */
export interface LoadedNetwork {
  config: CniNetworkConfList;
  /** The file it came from, or DEFAULT_NETWORK_SOURCE. */
  source: string;
  /** Plugin type → executable path. */
  binaries: Map<string, string>;
}

export type NetworkState =
  | { ok: true; network: LoadedNetwork }
  | { ok: false; message: string; config?: CniNetworkConfList; source?: string };

/** What to do when the conf dir is empty: the embedded network, or not ready with a reason. */
export type FallbackNetwork = DefaultNetworkOptions | false | { notReady: string };

export interface NetworkConfigSourceOptions {
  confDir: string;
  binDirs: readonly string[];
  /** Embedded fallback when the conf dir is empty; `false` turns it off (then not ready). */
  defaultNetwork?: FallbackNetwork;
}

/**
 * Keeps the chosen network configuration in memory and re-reads the conf dir only when the
 * dir's or a read file's mtime changed, so a status check every second costs a few stat calls.
 */
export class NetworkConfigSource {
  private readonly confDir: string;
  private readonly binDirs: readonly string[];
  private fallback: FallbackNetwork;
  private state: NetworkState = { ok: false, message: 'network configuration not loaded yet' };
  /** Files read by the last load (invalid ones and the chosen one) with the stamps seen. */
  private stamps: Array<[string, Stamp]> = [];
  /** Set when a stamp was too fresh to trust (coarse kernel timestamps): reload next time. */
  private racy = true;

  constructor(opts: NetworkConfigSourceOptions) {
    this.confDir = opts.confDir;
    this.binDirs = opts.binDirs;
    this.fallback = opts.defaultNetwork ?? {};
  }

  /** Changes the network used when the conf dir is empty; the next `current()` reloads. */
  setFallback(fallback: FallbackNetwork): void {
    this.fallback = fallback;
    this.racy = true;
  }

  /** The current configuration, reloaded if the conf dir changed since the last call. */
  current(): NetworkState {
    if (this.racy || this.stamps.some(([p, st]) => !sameStamp(stampOf(p), st))) {
      this.state = this.load();
    } else if (!this.state.ok && this.state.config) {
      // Only binaries were missing: they may have been installed since.
      this.state = this.resolveBinaries(this.state.config, this.state.source ?? '');
    }
    return this.state;
  }

  private load(): NetworkState {
    this.stamps = [];
    // Stamp before reading, so a change racing with the read shows up next time.
    const now = Date.now();
    this.stamp(this.confDir);
    const state = this.loadFiles();
    this.racy = this.stamps.some(([, st]) => st !== undefined && now - st.mtimeMs < RACY_MS);
    return state;
  }

  private stamp(p: string): void {
    this.stamps.push([p, stampOf(p)]);
  }

  private loadFiles(): NetworkState {
    let files: string[];
    try {
      files = listConfFiles(this.confDir);
    } catch (err) {
      return { ok: false, message: `cannot read CNI conf dir ${this.confDir}: ${(err as Error).message}` };
    }
    const problems: string[] = [];
    for (const file of files) {
      this.stamp(file);
      try {
        const config = parseNetworkConfig(readFileSync(file, 'utf8'), file);
        return this.resolveBinaries(config, file);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if (problems.length > 0) {
      return { ok: false, message: `no valid CNI network config in ${this.confDir}: ${problems.join('; ')}` };
    }
    if (this.fallback === false) {
      return { ok: false, message: `cni config uninitialized: no network config found in ${this.confDir}` };
    }
    if ('notReady' in this.fallback) return { ok: false, message: this.fallback.notReady };
    return this.resolveBinaries(defaultNetworkConfig(this.fallback), DEFAULT_NETWORK_SOURCE);
  }

  private resolveBinaries(config: CniNetworkConfList, source: string): NetworkState {
    const binaries = new Map<string, string>();
    const missing: string[] = [];
    for (const { type } of config.plugins) {
      const bin = findPluginBinary(type, this.binDirs);
      if (bin) binaries.set(type, bin);
      else missing.push(type);
    }
    if (missing.length > 0) {
      return {
        ok: false,
        config,
        source,
        message: `network ${config.name} (${source}): CNI plugin ${missing.join(', ')} not found in ${this.binDirs.join(':')}`,
      };
    }
    return { ok: true, network: { config, source, binaries } };
  }
}

/** Kernel file times tick coarsely; a change this close to a read may not move the mtime. */
const RACY_MS = 1000;

type Stamp = { ino: bigint; mtimeNs: bigint; size: bigint; mtimeMs: number } | undefined;

function stampOf(p: string): Stamp {
  try {
    const st = statSync(p, { bigint: true });
    return { ino: st.ino, mtimeNs: st.mtimeNs, size: st.size, mtimeMs: Number(st.mtimeMs) };
  } catch {
    return undefined;
  }
}

function sameStamp(a: Stamp, b: Stamp): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.ino === b.ino && a.mtimeNs === b.mtimeNs && a.size === b.size;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
