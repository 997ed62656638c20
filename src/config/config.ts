import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { invalidArgument } from '../errors.js';
import { BUILT_IN_MONITOR } from '../oci/monitor-program.js';
import { DEFAULT_IMAGE_LIMITS, parseImageLimits, type ImageLimits } from '../image/limits.js';
import { parseRegistriesConfig, type RegistriesConfig } from '../image/registry-config.js';

/** Everything the daemon needs to know about where things live and which tools to run. */
export interface CricketConfig {
  socket: string;
  /** Persistent state: images, layers, sandbox and container records. */
  root: string;
  /** Volatile state (tmpfs on most hosts): runc state, pinned netns, exit files, bundles. */
  stateDir: string;
  runc: string;
  conmon: string;
  /** `[runtimes.NAME]`: OCI runtime handlers beside the default runc (kubelet's RuntimeClass). */
  runtimes: Record<string, RuntimeHandlerConfig>;
  pauseImage: string;
  cni: {
    confDir: string;
    binDirs: string[];
    /** The embedded network used when confDir holds no configuration. */
    defaultBridge: string;
    defaultSubnet: string;
    /** A conflist template rendered into confDir with the node's pod CIDR ('' for none). */
    confTemplate: string;
  };
  /** CDI spec directories, lowest priority first (a later directory's device wins). */
  cdiSpecDirs: string[];
  /**
   * Before runc moves a new process into its cgroups, move the daemon into its own cgroup (a
   * no-op) so that the kernel's migration lock is ready when runc needs it (oci/cgroup-lock-primer.ts).
   */
  primeCgroupLock: boolean;
  /** Upper bound for external tool calls that should be quick (runc create/start/delete, CNI). */
  toolTimeoutMs: number;
  /** Per registry host: mirrors, CA files, insecure (plain HTTP), credentials (`[registries."HOST"]`). */
  registries: RegistriesConfig;
  /** What one layer and one image may unpack to (`[images]`: max_layer_unpacked_bytes, max_layer_files, …). */
  images: ImageLimits;
  /** The exec / attach / port-forward HTTP server whose URLs Exec, Attach and PortForward return. */
  streaming: {
    address: string;
    /** 0: a free port chosen at start-up. */
    port: number;
  };
  /** The Prometheus /metrics HTTP endpoint (`[metrics]`); off unless enabled, loopback by default. */
  metrics: {
    enabled: boolean;
    address: string;
    port: number;
  };
}

/** One `[runtimes.NAME]` table. */
export interface RuntimeHandlerConfig {
  binary: string;
  /** The runtime's state root; '' for the default, a directory per handler under the state dir. */
  root: string;
  /** Only OCI runtimes driven through their command line (runc, crun) exist for now. */
  type: 'oci';
  options: { systemdCgroup: boolean };
}

export const DEFAULT_CONFIG_FILE = '/etc/cricket/config.toml';

export function defaultConfig(): CricketConfig {
  return {
    socket: '/run/cricket/cricket.sock',
    root: '/var/lib/cricket',
    stateDir: '/run/cricket',
    runc: 'runc',
    conmon: BUILT_IN_MONITOR,
    runtimes: {},
    pauseImage: 'cricket.local/pause:built-in',
    cni: {
      confDir: '/etc/cni/net.d',
      binDirs: ['/opt/cni/bin', '/usr/lib/cni'],
      defaultBridge: 'cricket0',
      defaultSubnet: '10.85.0.0/16',
      confTemplate: '',
    },
    cdiSpecDirs: ['/etc/cdi', '/var/run/cdi'],
    primeCgroupLock: true,
    toolTimeoutMs: 60_000,
    registries: {},
    images: { ...DEFAULT_IMAGE_LIMITS },
    streaming: { address: '127.0.0.1', port: 0 },
    metrics: { enabled: false, address: '127.0.0.1', port: 9464 },
  };
}

type Flags = Partial<Record<string, string>>;

/**
 * Defaults, then the TOML file (keys as in the defaults, in snake_case), then command-line
 * flags. A missing default config file is fine; a missing file named explicitly is not.
 */
export function loadConfig(flags: Flags): CricketConfig {
  const config = defaultConfig();
  const file = flags.config ?? DEFAULT_CONFIG_FILE;
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (flags.config !== undefined) throw invalidArgument(`cannot read config ${file}: ${(err as Error).message}`);
  }
  if (text !== undefined) applyToml(config, text, file);
  // A relative path on the command line means what it does in a shell: from the working
  // directory, which the daemon leaves for / once started (serve.ts).
  if (flags.socket) config.socket = resolve(flags.socket);
  if (flags.root) config.root = resolve(flags.root);
  if (flags['state-dir']) config.stateDir = resolve(flags['state-dir']);
  if (flags['cni-conf-dir']) config.cni.confDir = resolve(flags['cni-conf-dir']);
  if (flags['cni-bin-dir']) config.cni.binDirs = flags['cni-bin-dir'].split(':').map((dir) => resolve(dir));
  if (flags['pod-subnet']) config.cni.defaultSubnet = flags['pod-subnet'];
  if (flags['cni-bridge']) config.cni.defaultBridge = flags['cni-bridge'];
  // A bare program name is looked up in PATH; one with a slash is a path.
  if (flags.runc) config.runc = flags.runc.includes('/') ? resolve(flags.runc) : flags.runc;
  if (flags.conmon) config.conmon = flags.conmon.includes('/') ? resolve(flags.conmon) : flags.conmon;
  if (flags['streaming-address']) config.streaming.address = flags['streaming-address'];
  if (flags['streaming-port'] !== undefined) config.streaming.port = parsePort(flags['streaming-port'], '--streaming-port');
  if (flags['metrics-address']) config.metrics = { ...config.metrics, enabled: true, address: flags['metrics-address'] };
  if (flags['metrics-port'] !== undefined) config.metrics = { ...config.metrics, enabled: true, port: parsePort(flags['metrics-port'], '--metrics-port') };
  return config;
}

function parsePort(value: unknown, what: string): number {
  const port = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidArgument(`${what} must be a port number (0-65535), not ${String(value)}`);
  return port;
}

function applyToml(config: CricketConfig, text: string, file: string): void {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw invalidArgument(`config ${file}: ${(err as Error).message}`);
  }
  const str = (v: unknown, key: string): string => {
    if (typeof v !== 'string') throw invalidArgument(`config ${file}: ${key} must be a string`);
    return v;
  };
  // A file's relative path would depend on where the daemon happened to be started.
  const path = (v: unknown, key: string): string => {
    const text = str(v, key);
    if (!isAbsolute(text)) throw invalidArgument(`config ${file}: ${key} must be an absolute path, not ${JSON.stringify(text)}`);
    return text;
  };
  if (doc.socket !== undefined) config.socket = path(doc.socket, 'socket');
  if (doc.root !== undefined) config.root = path(doc.root, 'root');
  if (doc.state_dir !== undefined) config.stateDir = path(doc.state_dir, 'state_dir');
  // A bare program name is looked up in PATH; one with a slash is a path.
  const program = (v: unknown, key: string): string => {
    const text = str(v, key);
    return text.includes('/') ? path(text, key) : text;
  };
  if (doc.runc !== undefined) config.runc = program(doc.runc, 'runc');
  if (doc.conmon !== undefined) config.conmon = program(doc.conmon, 'conmon');
  if (doc.runtimes !== undefined) config.runtimes = parseRuntimes(doc.runtimes, file);
  if (doc.pause_image !== undefined) config.pauseImage = str(doc.pause_image, 'pause_image');
  if (doc.prime_cgroup_lock !== undefined) {
    if (typeof doc.prime_cgroup_lock !== 'boolean') throw invalidArgument(`config ${file}: prime_cgroup_lock must be true or false`);
    config.primeCgroupLock = doc.prime_cgroup_lock;
  }
  if (doc.registries !== undefined) config.registries = parseRegistriesConfig(doc.registries, file);
  if (doc.images !== undefined) config.images = parseImageLimits(doc.images, file);
  if (doc.cdi_spec_dirs !== undefined) {
    if (!Array.isArray(doc.cdi_spec_dirs)) throw invalidArgument(`config ${file}: cdi_spec_dirs must be a list`);
    config.cdiSpecDirs = doc.cdi_spec_dirs.map((d, i) => path(d, `cdi_spec_dirs[${i}]`));
  }
  const cni = doc.cni as Record<string, unknown> | undefined;
  if (cni) {
    if (cni.conf_dir !== undefined) config.cni.confDir = path(cni.conf_dir, 'cni.conf_dir');
    if (cni.bin_dirs !== undefined) {
      if (!Array.isArray(cni.bin_dirs)) throw invalidArgument(`config ${file}: cni.bin_dirs must be a list`);
      config.cni.binDirs = cni.bin_dirs.map((d, i) => path(d, `cni.bin_dirs[${i}]`));
    }
    if (cni.default_bridge !== undefined) config.cni.defaultBridge = str(cni.default_bridge, 'cni.default_bridge');
    if (cni.default_subnet !== undefined) config.cni.defaultSubnet = str(cni.default_subnet, 'cni.default_subnet');
    if (cni.conf_template !== undefined) {
      // Empty: no template, as by default.
      const template = str(cni.conf_template, 'cni.conf_template');
      config.cni.confTemplate = template === '' ? '' : path(template, 'cni.conf_template');
    }
  }
  const streaming = doc.streaming as Record<string, unknown> | undefined;
  if (streaming) {
    if (streaming.address !== undefined) config.streaming.address = str(streaming.address, 'streaming.address');
    if (streaming.port !== undefined) config.streaming.port = parsePort(streaming.port, `config ${file}: streaming.port`);
  }
  const metrics = doc.metrics as Record<string, unknown> | undefined;
  if (metrics) {
    if (metrics.enabled !== undefined) {
      if (typeof metrics.enabled !== 'boolean') throw invalidArgument(`config ${file}: metrics.enabled must be true or false`);
      config.metrics.enabled = metrics.enabled;
    }
    if (metrics.address !== undefined) config.metrics.address = str(metrics.address, 'metrics.address');
    if (metrics.port !== undefined) config.metrics.port = parsePort(metrics.port, `config ${file}: metrics.port`);
  }
}

/** Handler names are what kubelet's RuntimeClass calls `handler`: a DNS label. */
const HANDLER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function parseRuntimes(value: unknown, file: string): Record<string, RuntimeHandlerConfig> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidArgument(`config ${file}: runtimes must be a table`);
  const result: Record<string, RuntimeHandlerConfig> = {};
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    const where = `config ${file}: runtimes.${name}`;
    if (!HANDLER_NAME.test(name)) throw invalidArgument(`${where}: a handler name is a DNS label (lower-case letters, digits, '-')`);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidArgument(`${where} must be a table`);
    const t = raw as Record<string, unknown>;
    for (const key of Object.keys(t)) {
      if (!['binary', 'root', 'type', 'options'].includes(key)) throw invalidArgument(`${where}: unknown key ${key}`);
    }
    const text = (v: unknown, key: string, dflt: string): string => {
      if (v === undefined) return dflt;
      if (typeof v !== 'string') throw invalidArgument(`${where}.${key} must be a string`);
      return v;
    };
    const type = text(t.type, 'type', 'oci');
    if (type !== 'oci') throw invalidArgument(`${where}.type "${type}" is not supported (only "oci")`);
    const root = text(t.root, 'root', '');
    if (root && !root.startsWith('/')) throw invalidArgument(`${where}.root must be an absolute path`);
    const options = { systemdCgroup: false };
    if (t.options !== undefined) {
      if (typeof t.options !== 'object' || t.options === null || Array.isArray(t.options)) throw invalidArgument(`${where}.options must be a table`);
      for (const [key, v] of Object.entries(t.options as Record<string, unknown>)) {
        if (key !== 'systemd_cgroup') throw invalidArgument(`${where}.options: unknown option ${key}`);
        if (typeof v !== 'boolean') throw invalidArgument(`${where}.options.systemd_cgroup must be true or false`);
        // Pods' cgroups are cgroupfs paths (RuntimeConfig says so to kubelet); a systemd slice
        // name would need the other driver all the way through.
        if (v) throw invalidArgument(`${where}.options.systemd_cgroup = true is not supported: cricket drives cgroupfs`);
      }
    }
    result[name] = { binary: text(t.binary, 'binary', name), root, type: 'oci', options };
  }
  return result;
}

/** Paths derived from the two state roots, in one place so every module agrees on them. */
export function statePaths(config: CricketConfig) {
  return {
    sandboxRecords: join(config.root, 'sandboxes'),
    containerRecords: join(config.root, 'containers'),
    images: join(config.root, 'images'),
    cniData: join(config.root, 'cni'),
    /** The node's pod CIDR from kubelet, kept across restarts. */
    podCidr: join(config.root, 'network', 'pod-cidr'),
    runcRoot: join(config.stateDir, 'runc'),
    /** State root of a runtime handler other than runc, unless its config names one. */
    runtimeRoot: (handler: string) => join(config.stateDir, 'runtimes', handler),
    /** Start-up probes' scratch bundles (spec-pipe-probe.ts), each removed when done. */
    probes: join(config.stateDir, 'probes'),
    netns: join(config.stateDir, 'netns'),
    exits: join(config.stateDir, 'exits'),
    attach: join(config.stateDir, 'attach'),
    sandboxesDir: join(config.stateDir, 'sandboxes'),
    containersDir: join(config.stateDir, 'containers'),
    rwDir: join(config.root, 'rw'),
    sandboxDir: (id: string) => join(config.stateDir, 'sandboxes', id),
    containerDir: (id: string) => join(config.stateDir, 'containers', id),
    /** Writable layer (overlay upper and work dirs): on disk, survives a restart of cricket. */
    containerRw: (id: string) => join(config.root, 'rw', id),
  };
}

export type StatePaths = ReturnType<typeof statePaths>;
