import { isIP } from 'node:net';
import { invalidArgument } from '../errors.js';
import type { PodSandboxConfig } from '../gen/runtime/v1/api.js';
import { checkAbsoluteNormal, checkCount, checkLine, checkNoDotDot, checkPort, checkStringMap, checkText } from './field-checks.js';
import { ANNOTATIONS, LABELS, LIMITS, SYSCTLS } from './limits.js';
import { checkResources, checkSandboxSecurity } from './security-context-checks.js';

/**
 * Names travel into CNI_ARGS ("K8S_POD_NAME=...;...") and file names: ";", "=", "/" and spaces
 * would change what those say. Kubernetes names are far narrower than this.
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function checkName(value: string, path: string): void {
  if (!value) throw invalidArgument(`${path} is required`);
  checkText(value, path, LIMITS.name);
  if (!NAME.test(value)) throw invalidArgument(`${path} "${value}" may hold only letters, digits, ".", "_" and "-"`);
}

const SYSCTL = /^[a-z0-9_][a-z0-9_./-]*$/;

/**
 * A pod's configuration as RunPodSandbox gets it, or as CreateContainer and PullImage get it for
 * context (`context`: then it may be partial, but what is there is bounded all the same).
 */
export function checkPodConfig(config: PodSandboxConfig, path: string, context = false): void {
  const meta = config.metadata;
  if (!meta && !context) throw invalidArgument(`${path}.metadata is required`);
  if (meta) {
    if (!context || meta.name) checkName(meta.name, `${path}.metadata.name`);
    if (!context || meta.namespace) checkName(meta.namespace, `${path}.metadata.namespace`);
    if (meta.uid) checkName(meta.uid, `${path}.metadata.uid`);
  }
  checkLine(config.hostname, `${path}.hostname`, LIMITS.hostname);
  // The directory conmon writes container logs into, as root: it must name one place only.
  if (config.logDirectory) {
    checkAbsoluteNormal(config.logDirectory, `${path}.log_directory`);
    if (config.logDirectory === '/') throw invalidArgument(`${path}.log_directory must not be /`);
  }
  const dns = config.dnsConfig;
  if (dns) {
    // Each entry becomes a line of the pod's resolv.conf.
    for (const key of ['servers', 'searches', 'options'] as const) {
      checkCount(dns[key], `${path}.dns_config.${key}`, LIMITS.dnsEntries);
      dns[key].forEach((v, i) => checkLine(v, `${path}.dns_config.${key}[${i}]`, LIMITS.dnsEntry));
    }
  }
  checkCount(config.portMappings, `${path}.port_mappings`, LIMITS.portMappings);
  config.portMappings.forEach((pm, i) => {
    checkPort(pm.containerPort, `${path}.port_mappings[${i}].container_port`, true);
    checkPort(pm.hostPort, `${path}.port_mappings[${i}].host_port`, true);
    if (pm.hostIp && !isIP(pm.hostIp)) throw invalidArgument(`${path}.port_mappings[${i}].host_ip "${pm.hostIp.slice(0, 64)}" is not an IP address`);
  });
  checkStringMap(config.labels, `${path}.labels`, LABELS);
  checkStringMap(config.annotations, `${path}.annotations`, ANNOTATIONS);
  const linux = config.linux;
  if (linux) {
    checkNoDotDot(linux.cgroupParent, `${path}.linux.cgroup_parent`);
    checkSandboxSecurity(linux.securityContext, `${path}.linux.security_context`);
    checkStringMap(linux.sysctls, `${path}.linux.sysctls`, SYSCTLS);
    for (const key in linux.sysctls) {
      if (!SYSCTL.test(key) || /(^|[./])\.\.?([./]|$)/.test(key)) throw invalidArgument(`${path}.linux.sysctls key "${key.slice(0, 64)}" is not a sysctl name`);
      checkLine(linux.sysctls[key]!, `${path}.linux.sysctls["${key}"]`, SYSCTLS.value);
    }
    checkResources(linux.overhead, `${path}.linux.overhead`);
    checkResources(linux.resources, `${path}.linux.resources`);
  }
}
