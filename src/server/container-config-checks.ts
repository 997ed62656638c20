import { posix } from 'node:path';
import { invalidArgument } from '../errors.js';
import type { ContainerConfig, ImageSpec } from '../gen/runtime/v1/api.js';
import { checkAbsolute, checkCount, checkNoDotDot, checkLine, checkRelativeBelow, checkStringMap, checkText } from './field-checks.js';
import { ANNOTATIONS, LABELS, LIMITS } from './limits.js';
import { checkName } from './pod-config-checks.js';
import { checkContainerSecurity, checkResources } from './security-context-checks.js';

export function checkImageSpec(spec: ImageSpec | undefined, path: string, required: boolean): void {
  if (!spec || !spec.image) {
    if (required) throw invalidArgument(`${path}.image is required`);
    if (!spec) return;
  }
  checkLine(spec.image, `${path}.image`, LIMITS.image);
  checkLine(spec.userSpecifiedImage, `${path}.user_specified_image`, LIMITS.image);
  checkLine(spec.runtimeHandler, `${path}.runtime_handler`, LIMITS.short);
  checkLine(spec.imageRef, `${path}.image_ref`, LIMITS.image);
  checkStringMap(spec.annotations, `${path}.annotations`, ANNOTATIONS);
}

/** Arguments of a process: bounded in number and size, no NUL (execve would cut them there). */
export function checkArgv(values: readonly string[], path: string, budget: { bytes: number }): void {
  checkCount(values, path, LIMITS.args);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    checkText(v, `${path}[${i}]`, LIMITS.arg);
    budget.bytes -= v.length + 1;
  }
  if (budget.bytes < 0) throw invalidArgument(`${path}: command, arguments and environment exceed ${LIMITS.argBytes} bytes`);
}

/**
 * The program to run is a path: the kernel refuses more than PATH_MAX, and runc quotes it whole
 * in its error, which must stay short enough for the pipe its monitor reads after it exits.
 */
export function checkExecutable(value: string, path: string): void {
  checkText(value, path, LIMITS.path);
}

export function checkContainerConfig(config: ContainerConfig, path: string): void {
  const meta = config.metadata;
  if (!meta) throw invalidArgument(`${path}.metadata is required`);
  checkName(meta.name, `${path}.metadata.name`);
  checkImageSpec(config.image, `${path}.image`, false);
  const budget = { bytes: LIMITS.argBytes };
  checkArgv(config.command, `${path}.command`, budget);
  checkArgv(config.args, `${path}.args`, budget);
  if (config.command.length + config.args.length > LIMITS.args) throw invalidArgument(`${path}: more than ${LIMITS.args} command words`);
  const executable = config.command[0] ?? config.args[0];
  if (executable !== undefined) checkExecutable(executable, config.command.length ? `${path}.command[0]` : `${path}.args[0]`);
  if (config.workingDir) checkWorkingDir(config.workingDir, `${path}.working_dir`);
  checkCount(config.envs, `${path}.envs`, LIMITS.envs);
  config.envs.forEach((kv, i) => {
    if (kv.key.includes('=')) throw invalidArgument(`${path}.envs[${i}].key "${kv.key.slice(0, 64)}" contains "="`);
    checkText(kv.key, `${path}.envs[${i}].key`, LIMITS.arg);
    if (kv.value.length > LIMITS.arg) throw invalidArgument(`${path}.envs[${i}].value is longer than ${LIMITS.arg} bytes`);
    if (kv.value.includes(0)) throw invalidArgument(`${path}.envs[${i}].value contains a NUL byte`);
    budget.bytes -= kv.key.length + kv.value.length + 2;
  });
  if (budget.bytes < 0) throw invalidArgument(`${path}: command, arguments and environment exceed ${LIMITS.argBytes} bytes`);
  checkCount(config.mounts, `${path}.mounts`, LIMITS.mounts);
  config.mounts.forEach((m, i) => {
    const at = `${path}.mounts[${i}]`;
    checkAbsolute(m.containerPath, `${at}.container_path`);
    // A missing host path is created (as kubelet's DirectoryOrCreate expects): it must name
    // the place it says, without "..".
    if (m.hostPath) {
      checkAbsolute(m.hostPath, `${at}.host_path`);
      checkNoDotDot(m.hostPath, `${at}.host_path`);
    }
    checkCount(m.uidMappings, `${at}.uidMappings`, LIMITS.idMappings);
    checkCount(m.gidMappings, `${at}.gidMappings`, LIMITS.idMappings);
    checkImageSpec(m.image, `${at}.image`, false);
    if (m.imageSubPath) checkRelativeBelow(m.imageSubPath, `${at}.image_sub_path`);
  });
  checkCount(config.devices, `${path}.devices`, LIMITS.devices);
  config.devices.forEach((d, i) => {
    checkAbsolute(d.containerPath, `${path}.devices[${i}].container_path`);
    checkAbsolute(d.hostPath, `${path}.devices[${i}].host_path`);
    checkText(d.permissions, `${path}.devices[${i}].permissions`, 3);
  });
  checkStringMap(config.labels, `${path}.labels`, LABELS);
  checkStringMap(config.annotations, `${path}.annotations`, ANNOTATIONS);
  // Joined to the pod's log directory and written by conmon as root: it must stay below it.
  if (config.logPath) checkRelativeBelow(config.logPath, `${path}.log_path`);
  if (config.linux) {
    checkResources(config.linux.resources, `${path}.linux.resources`);
    checkContainerSecurity(config.linux.securityContext, `${path}.linux.security_context`);
  }
  checkCount(config.CDIDevices, `${path}.CDI_devices`, LIMITS.cdiDevices);
  config.CDIDevices.forEach((d, i) => checkLine(d.name, `${path}.CDI_devices[${i}].name`, LIMITS.short));
}

/** Filesystems the runtime mounts fresh in every container: nothing can be made in them. */
const KERNEL_FILESYSTEMS = ['/proc', '/sys'];
/** Device nodes and links the runtime makes in the container's /dev (OCI default devices). */
const RUNTIME_DEV_FILES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/console', '/dev/ptmx', '/dev/fd', '/dev/stdin', '/dev/stdout', '/dev/stderr', '/dev/core'];

/**
 * The working directory is made by the runtime inside the container when missing. Below /proc or
 * /sys it cannot be, and at or below a device node the runtime makes it is a file: runc would
 * fail the start with a message about mkdir. Refused up front as the request's mistake.
 */
export function checkWorkingDir(value: string, path: string): void {
  checkAbsolute(value, path);
  const normal = posix.normalize(value).replace(/\/+$/, '') || '/';
  const below = (root: string) => normal.startsWith(`${root}/`);
  if (KERNEL_FILESYSTEMS.some(below) || RUNTIME_DEV_FILES.some((file) => normal === file || below(file))) {
    throw invalidArgument(`${path} "${value}" cannot be a directory in a container (the runtime mounts ${normal.split('/').slice(0, 2).join('/')} itself)`);
  }
}
