import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { invalidArgument } from '../errors.js';
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
  /** Upper bound for external tool calls that should be quick (runc create/start/delete, CNI). */
  toolTimeoutMs: number;
  /** Per registry host: mirrors, CA files, insecure (plain HTTP), credentials (`[registries."HOST"]`). */
  registries: RegistriesConfig;
  /** The exec / attach / port-forward HTTP server whose URLs Exec, Attach and PortForward return. */
  streaming: {
    address: string;
    /** 0: a free port chosen at start-up. */
    port: number;
  };
}

export const DEFAULT_CONFIG_FILE = '/etc/cricket/config.toml';

export function defaultConfig(): CricketConfig {
  return {
    socket: '/run/cricket/cricket.sock',
    root: '/var/lib/cricket',
    stateDir: '/run/cricket',
    runc: 'runc',
    conmon: 'conmon',
    pauseImage: 'cricket.local/pause:built-in',
    cni: {
      confDir: '/etc/cni/net.d',
      binDirs: ['/opt/cni/bin', '/usr/lib/cni'],
      defaultBridge: 'cricket0',
      defaultSubnet: '10.85.0.0/16',
      confTemplate: '',
    },
    cdiSpecDirs: ['/etc/cdi', '/var/run/cdi'],
    toolTimeoutMs: 60_000,
    registries: {},
    streaming: { address: '127.0.0.1', port: 0 },
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
  if (flags.socket) config.socket = flags.socket;
  if (flags.root) config.root = flags.root;
  if (flags['state-dir']) config.stateDir = flags['state-dir'];
  if (flags['cni-conf-dir']) config.cni.confDir = flags['cni-conf-dir'];
  if (flags['cni-bin-dir']) config.cni.binDirs = flags['cni-bin-dir'].split(':');
  if (flags['pod-subnet']) config.cni.defaultSubnet = flags['pod-subnet'];
  if (flags['cni-bridge']) config.cni.defaultBridge = flags['cni-bridge'];
  if (flags.runc) config.runc = flags.runc;
  if (flags.conmon) config.conmon = flags.conmon;
  if (flags['streaming-address']) config.streaming.address = flags['streaming-address'];
  if (flags['streaming-port'] !== undefined) config.streaming.port = parsePort(flags['streaming-port'], '--streaming-port');
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
  if (doc.socket !== undefined) config.socket = str(doc.socket, 'socket');
  if (doc.root !== undefined) config.root = str(doc.root, 'root');
  if (doc.state_dir !== undefined) config.stateDir = str(doc.state_dir, 'state_dir');
  if (doc.runc !== undefined) config.runc = str(doc.runc, 'runc');
  if (doc.conmon !== undefined) config.conmon = str(doc.conmon, 'conmon');
  if (doc.pause_image !== undefined) config.pauseImage = str(doc.pause_image, 'pause_image');
  if (doc.registries !== undefined) config.registries = parseRegistriesConfig(doc.registries, file);
  if (doc.cdi_spec_dirs !== undefined) {
    if (!Array.isArray(doc.cdi_spec_dirs)) throw invalidArgument(`config ${file}: cdi_spec_dirs must be a list`);
    config.cdiSpecDirs = doc.cdi_spec_dirs.map((d, i) => str(d, `cdi_spec_dirs[${i}]`));
  }
  const cni = doc.cni as Record<string, unknown> | undefined;
  if (cni) {
    if (cni.conf_dir !== undefined) config.cni.confDir = str(cni.conf_dir, 'cni.conf_dir');
    if (cni.bin_dirs !== undefined) {
      if (!Array.isArray(cni.bin_dirs)) throw invalidArgument(`config ${file}: cni.bin_dirs must be a list`);
      config.cni.binDirs = cni.bin_dirs.map((d, i) => str(d, `cni.bin_dirs[${i}]`));
    }
    if (cni.default_bridge !== undefined) config.cni.defaultBridge = str(cni.default_bridge, 'cni.default_bridge');
    if (cni.default_subnet !== undefined) config.cni.defaultSubnet = str(cni.default_subnet, 'cni.default_subnet');
    if (cni.conf_template !== undefined) config.cni.confTemplate = str(cni.conf_template, 'cni.conf_template');
  }
  const streaming = doc.streaming as Record<string, unknown> | undefined;
  if (streaming) {
    if (streaming.address !== undefined) config.streaming.address = str(streaming.address, 'streaming.address');
    if (streaming.port !== undefined) config.streaming.port = parsePort(streaming.port, `config ${file}: streaming.port`);
  }
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
