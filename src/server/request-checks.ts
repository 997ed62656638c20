import type { handleServerStreamingCall, handleUnaryCall } from '@grpc/grpc-js';
import { invalidArgument } from '../errors.js';
import type { ContainerFilter, ImageServiceServer, PodSandboxFilter, RuntimeServiceServer } from '../gen/runtime/v1/api.js';
import { checkCount, checkId, checkLine, checkOptionalId, checkPort, checkStringMap, checkText } from './field-checks.js';
import { ANNOTATIONS, LIMITS, SELECTOR } from './limits.js';
import { checkArgv, checkContainerConfig, checkExecutable, checkImageSpec } from './container-config-checks.js';
import { checkPodConfig } from './pod-config-checks.js';
import { checkResources } from './security-context-checks.js';
import { clampTimeoutSeconds } from './timeouts.js';

/**
 * What each RPC's request must satisfy before a service sees it, beyond what the wire check
 * already refused. A check throws INVALID_ARGUMENT; it may clamp a value in place (timeouts) when
 * clamping keeps the request's meaning. List and Status checks only look at short filter fields.
 */
type RequestOf<H> = H extends handleUnaryCall<infer Q, infer _R> ? Q : H extends handleServerStreamingCall<infer Q, infer _R> ? Q : never;
export type RequestChecks<S> = { [K in keyof S]?: (request: RequestOf<S[K]>) => void };

function checkFilter(filter: { id: string; podSandboxId?: string; labelSelector: Record<string, string> } | undefined): void {
  if (!filter) return;
  checkOptionalId(filter.id, 'filter.id');
  if (filter.podSandboxId !== undefined) checkOptionalId(filter.podSandboxId, 'filter.pod_sandbox_id');
  checkStringMap(filter.labelSelector, 'filter.label_selector', SELECTOR);
}

const sandboxFilter = (req: { filter: PodSandboxFilter | undefined }) => checkFilter(req.filter);
const containerFilter = (req: { filter: ContainerFilter | undefined }) => checkFilter(req.filter);
const containerId = (req: { containerId: string }) => checkId(req.containerId, 'container_id');
const podSandboxId = (req: { podSandboxId: string }) => checkId(req.podSandboxId, 'pod_sandbox_id');

function checkCmd(cmd: readonly string[]): void {
  if (cmd.length === 0 || !cmd[0]) throw invalidArgument('cmd is required');
  checkExecutable(cmd[0], 'cmd[0]');
  checkArgv(cmd, 'cmd', { bytes: LIMITS.argBytes });
}

export const runtimeChecks: RequestChecks<RuntimeServiceServer> = {
  version: (req) => checkText(req.version, 'version', LIMITS.short),
  runPodSandbox: (req) => {
    if (!req.config) throw invalidArgument('RunPodSandbox needs a config');
    checkPodConfig(req.config, 'config');
    checkLine(req.runtimeHandler, 'runtime_handler', LIMITS.short);
  },
  stopPodSandbox: podSandboxId,
  removePodSandbox: podSandboxId,
  podSandboxStatus: podSandboxId,
  listPodSandbox: sandboxFilter,
  streamPodSandboxes: sandboxFilter,
  createContainer: (req) => {
    checkId(req.podSandboxId, 'pod_sandbox_id');
    if (!req.config) throw invalidArgument('CreateContainer needs a config');
    checkContainerConfig(req.config, 'config');
    if (req.sandboxConfig) checkPodConfig(req.sandboxConfig, 'sandbox_config', true);
  },
  startContainer: containerId,
  stopContainer: (req) => {
    checkId(req.containerId, 'container_id');
    req.timeout = clampTimeoutSeconds(req.timeout, 'timeout');
  },
  removeContainer: containerId,
  listContainers: containerFilter,
  streamContainers: containerFilter,
  containerStatus: containerId,
  updateContainerResources: (req) => {
    checkId(req.containerId, 'container_id');
    checkResources(req.linux, 'linux');
    checkStringMap(req.annotations, 'annotations', ANNOTATIONS);
  },
  reopenContainerLog: containerId,
  execSync: (req) => {
    checkId(req.containerId, 'container_id');
    checkCmd(req.cmd);
    req.timeout = clampTimeoutSeconds(req.timeout, 'timeout');
  },
  exec: (req) => {
    checkId(req.containerId, 'container_id');
    checkCmd(req.cmd);
  },
  attach: containerId,
  portForward: (req) => {
    checkId(req.podSandboxId, 'pod_sandbox_id');
    checkCount(req.port, 'port', LIMITS.ports);
    req.port.forEach((p, i) => checkPort(p, `port[${i}]`, false));
  },
  containerStats: containerId,
  listContainerStats: (req) => checkFilter(req.filter),
  streamContainerStats: (req) => checkFilter(req.filter),
  podSandboxStats: podSandboxId,
  listPodSandboxStats: (req) => checkFilter(req.filter),
  streamPodSandboxStats: (req) => checkFilter(req.filter),
  updateRuntimeConfig: (req) => checkLine(req.runtimeConfig?.networkConfig?.podCidr ?? '', 'runtime_config.network_config.pod_cidr', LIMITS.short),
  checkpointContainer: (req) => {
    checkId(req.containerId, 'container_id');
    checkText(req.location, 'location', LIMITS.path);
    req.timeout = clampTimeoutSeconds(req.timeout, 'timeout');
  },
  updatePodSandboxResources: (req) => {
    checkId(req.podSandboxId, 'pod_sandbox_id');
    checkResources(req.overhead, 'overhead');
    checkResources(req.resources, 'resources');
  },
};

export const imageChecks: RequestChecks<ImageServiceServer> = {
  listImages: (req) => checkImageSpec(req.filter?.image, 'filter.image', false),
  streamImages: (req) => checkImageSpec(req.filter?.image, 'filter.image', false),
  imageStatus: (req) => checkImageSpec(req.image, 'image', true),
  pullImage: (req) => {
    checkImageSpec(req.image, 'image', true);
    const auth = req.auth;
    if (auth) {
      for (const key of ['username', 'password', 'auth', 'serverAddress', 'identityToken', 'registryToken'] as const) {
        checkLine(auth[key], `auth.${key}`, LIMITS.secret);
      }
    }
    if (req.sandboxConfig) checkPodConfig(req.sandboxConfig, 'sandbox_config', true);
  },
  removeImage: (req) => checkImageSpec(req.image, 'image', true),
};
