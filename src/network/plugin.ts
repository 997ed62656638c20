import { CricketError, invalidArgument } from '../errors.js';
import { overflowReason, ProgramError, run } from '../process/run.js';
import type { CniNetworkConfList, CniPluginConf } from './config.js';
import type { PodNetworkRequest, PortMapping } from './types.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

/** The CNI error object a plugin prints on stdout when it fails (SPEC: Error). */
export interface CniErrorInfo {
  code: number;
  msg: string;
  details?: string;
}

/** Well-known CNI error codes, for readable messages. */
const CNI_ERROR_NAMES: Record<number, string> = {
  1: 'incompatible CNI version',
  2: 'unsupported field in network configuration',
  3: 'container unknown or does not exist',
  4: 'invalid necessary environment variables',
  5: 'I/O failure',
  6: 'failed to decode content',
  7: 'invalid network config',
  11: 'try again later',
};

/** A failed plugin call, with everything the operator needs: which, where, why. */
export class CniPluginError extends CricketError {
  constructor(
    readonly command: CniCommand,
    readonly plugin: string,
    readonly network: string,
    readonly containerId: string,
    readonly cniError: CniErrorInfo | undefined,
    readonly stderr: string,
    readonly timedOut: boolean,
    detail: string,
  ) {
    super(
      timedOut ? 'deadline-exceeded' : 'internal',
      `CNI ${command} of plugin ${plugin} (network ${network}, pod ${containerId}) failed: ${detail}`,
    );
    this.name = 'CniPluginError';
  }
}

/** CNI container ids (SPEC: Parameters): they also become file and chain names in plugins. */
const CONTAINER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** CNI_ARGS is `K=V;K=V`: values must not carry the separators. */
const ARG_VALUE_RE = /^[^;=\s]*$/;

export function validateContainerId(id: string): void {
  if (!CONTAINER_ID_RE.test(id)) throw invalidArgument(`invalid CNI container id ${JSON.stringify(id)}`);
}

/** CNI_ARGS the way kubelet-era runtimes pass pod identity to plugins. */
export function buildCniArgs(req: Pick<PodNetworkRequest, 'podId' | 'podName' | 'podNamespace' | 'podUid'>): string {
  const pairs: Array<[string, string]> = [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAMESPACE', req.podNamespace],
    ['K8S_POD_NAME', req.podName],
    ['K8S_POD_INFRA_CONTAINER_ID', req.podId],
    ['K8S_POD_UID', req.podUid],
  ];
  for (const [k, v] of pairs) {
    if (!ARG_VALUE_RE.test(v)) throw invalidArgument(`pod ${req.podId}: ${k} ${JSON.stringify(v)} cannot be passed in CNI_ARGS`);
  }
  return pairs.map(([k, v]) => `${k}=${v}`).join(';');
}

export interface PluginEnvParams {
  command: CniCommand;
  containerId: string;
  /** Empty when the namespace is gone (allowed for DEL). */
  netns: string;
  ifName: string;
  cniArgs: string;
  binDirs: readonly string[];
}

const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The plugin's environment: cricket's own (plugins such as portmap find iptables on PATH)
 * without any inherited CNI_* variable, plus the CNI parameters.
 */
export function buildPluginEnv(p: PluginEnvParams, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && !k.startsWith('CNI_')) env[k] = v;
  }
  env.PATH ||= FALLBACK_PATH;
  env.CNI_COMMAND = p.command;
  env.CNI_CONTAINERID = p.containerId;
  env.CNI_NETNS = p.netns;
  env.CNI_IFNAME = p.ifName;
  env.CNI_ARGS = p.cniArgs;
  env.CNI_PATH = p.binDirs.join(':');
  return env;
}

/** Runtime values a plugin may ask for through its "capabilities" (CONVENTIONS.md). */
export interface RuntimeValues {
  portMappings: PortMapping[];
}

/**
 * The JSON a plugin reads on stdin: its own config plus the network's name and version,
 * runtimeConfig for the capabilities it declares, and the previous result in the chain.
 */
export function buildPluginStdin(
  network: Pick<CniNetworkConfList, 'name' | 'cniVersion'>,
  plugin: CniPluginConf,
  runtime: RuntimeValues,
  prevResult: unknown,
): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: network.name, cniVersion: network.cniVersion };
  delete conf.runtimeConfig;
  delete conf.prevResult;
  const runtimeConfig: Record<string, unknown> = {};
  if (plugin.capabilities?.portMappings === true && runtime.portMappings.length > 0) {
    runtimeConfig.portMappings = runtime.portMappings.map(toCniPortMapping);
  }
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  if (prevResult !== undefined && prevResult !== null) conf.prevResult = prevResult;
  return conf;
}

function toCniPortMapping(m: PortMapping): Record<string, unknown> {
  const out: Record<string, unknown> = { hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol };
  if (m.hostIP) out.hostIP = m.hostIP;
  return out;
}

/** The CNI error object in a failed plugin's stdout (or stderr), if it printed one. */
export function parseCniError(stdout: string, stderr = ''): CniErrorInfo | undefined {
  for (const text of [stdout, stderr]) {
    const parsed = parseJsonObject(text);
    if (parsed && typeof parsed.code === 'number' && typeof parsed.msg === 'string') {
      const info: CniErrorInfo = { code: parsed.code, msg: parsed.msg };
      if (typeof parsed.details === 'string' && parsed.details) info.details = parsed.details;
      return info;
    }
  }
  return undefined;
}

export function describeCniError(info: CniErrorInfo): string {
  const name = CNI_ERROR_NAMES[info.code];
  const head = `${info.msg} (code ${info.code}${name ? `: ${name}` : ''})`;
  return info.details ? `${head}: ${info.details}` : head;
}

export interface InvokeParams extends PluginEnvParams {
  network: string;
  pluginType: string;
  pluginPath: string;
  stdin: Record<string, unknown>;
  timeoutMs: number;
}

/**
 * Runs one plugin. Returns its parsed stdout (the ADD result; undefined when it printed
 * nothing, as DEL and CHECK do) or throws CniPluginError with its error object and stderr.
 */
export async function invokePlugin(p: InvokeParams): Promise<unknown> {
  let stdout: string;
  try {
    ({ stdout } = await run(p.pluginPath, [], {
      input: JSON.stringify(p.stdin),
      env: buildPluginEnv(p),
      replaceEnv: true,
      timeoutMs: p.timeoutMs,
    }));
  } catch (err) {
    throw pluginFailure(p, err);
  }
  if (stdout.trim() === '') return undefined;
  try {
    return JSON.parse(stdout) as unknown;
  } catch {
    throw new CniPluginError(p.command, p.pluginType, p.network, p.containerId, undefined, '', false,
      `plugin printed something that is not JSON: ${truncate(stdout.trim())}`);
  }
}

function pluginFailure(p: InvokeParams, err: unknown): CniPluginError {
  if (!(err instanceof ProgramError)) {
    const msg = err instanceof Error ? err.message : String(err);
    return new CniPluginError(p.command, p.pluginType, p.network, p.containerId, undefined, '', false, msg);
  }
  const stderr = err.stderr.trim();
  const info = parseCniError(err.stdout, stderr);
  const parts: string[] = [];
  if (err.overflowed) parts.push(overflowReason(err.overflowed));
  else if (err.timedOut) parts.push(`timed out after ${p.timeoutMs} ms`);
  else if (err.exitCode === undefined) parts.push('killed by a signal or could not be started');
  else parts.push(`exit code ${err.exitCode}`);
  if (info) parts.push(describeCniError(info));
  else if (err.stdout.trim()) parts.push(`stdout: ${truncate(err.stdout.trim())}`);
  // stderr carries the plugin's own log lines even when it printed a proper error object.
  if (stderr && !(info && stderr === err.stdout.trim())) parts.push(`stderr: ${truncate(stderr)}`);
  return new CniPluginError(p.command, p.pluginType, p.network, p.containerId, info, stderr, err.timedOut, parts.join('; '));
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const t = text.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function truncate(s: string, max = 2000): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
