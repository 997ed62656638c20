import { invalidArgument } from '../../errors.js';
import type { ImageConfig } from '../../image/types.js';
import type { ContainerSpecInput, PauseSpecInput, SpecOpt } from './types.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Kubernetes' rule: `command` replaces the image's Entrypoint and drops its Cmd; `args` alone
 * replaces Cmd and keeps the Entrypoint.
 */
export function containerArgs(image: ImageConfig, command: readonly string[], args: readonly string[]): string[] {
  const result = command.length > 0
    ? [...command, ...args]
    : [...image.entrypoint, ...(args.length > 0 ? args : image.cmd)];
  if (result.length === 0) throw invalidArgument('no command: neither the request nor the image gives one');
  return result;
}

/** PATH and HOSTNAME first, then the image's variables, then the request's, each by name. */
export function containerEnv(image: ImageConfig, envs: readonly { key: string; value: string }[], hostname: string): string[] {
  const merged = new Map<string, string>();
  merged.set('PATH', DEFAULT_PATH);
  merged.set('HOSTNAME', hostname);
  for (const entry of image.env) {
    const eq = entry.indexOf('=');
    if (eq > 0) merged.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  for (const { key, value } of envs) {
    if (!key) throw invalidArgument('environment variable with an empty name');
    merged.set(key, value);
  }
  return [...merged].map(([k, v]) => `${k}=${v}`);
}

export const withContainerArgs: SpecOpt<ContainerSpecInput> = (spec, { config, image, checkpointArgs }) => {
  // A restored container goes on with the command it was checkpointed with, unless told otherwise.
  const restored = checkpointArgs?.length && !config.command.length && !config.args.length;
  spec.process.args = restored ? [...checkpointArgs] : containerArgs(image, config.command, config.args);
};

export const withContainerEnv: SpecOpt<ContainerSpecInput> = (spec, { config, image, pod }) => {
  // Values pass through UTF-8 once, so that what runc gets is valid text.
  const envs = config.envs.map((e) => ({ key: e.key, value: Buffer.from(e.value).toString('utf8') }));
  spec.process.env = containerEnv(image, envs, pod.hostname);
};

/** The request's working directory, else the image's, else `/`. */
export const withContainerCwd: SpecOpt<ContainerSpecInput> = (spec, { config, image }) => {
  spec.process.cwd = config.workingDir || image.workingDir || '/';
};

export const withContainerUser: SpecOpt<ContainerSpecInput> = (spec, { user }) => {
  spec.process.user = { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids.length ? [...user.additionalGids] : undefined };
};

export const withTerminal: SpecOpt<ContainerSpecInput> = (spec, { config }) => {
  spec.process.terminal = config.tty;
};

export const withContainerRoot: SpecOpt<ContainerSpecInput> = (spec, { rootfs, config }) => {
  spec.root = { path: rootfs, readonly: config.linux?.securityContext?.readonlyRootfs ?? false };
};

/** The pause image's own command, environment and read-only root. */
export const withPauseProcess: SpecOpt<PauseSpecInput> = (spec, { image, rootfs }) => {
  spec.process.args = [...image.entrypoint, ...image.cmd];
  spec.process.env = [...image.env];
  spec.process.cwd = '/';
  spec.root = { path: rootfs, readonly: true };
};

const NOBODY = 65535;

/**
 * The pod's security context decides who pause runs as; the pause image's numeric USER
 * ("uid[:gid]") otherwise; 65535 for what neither gives.
 */
export const withPauseUser: SpecOpt<PauseSpecInput> = (spec, { config, image }) => {
  const sc = config.linux?.securityContext;
  const [imageUid, imageGid] = image.user.split(':').map((n) => Number.parseInt(n, 10));
  const additionalGids = (sc?.supplementalGroups ?? []).map(Number);
  spec.process.user = {
    uid: sc?.runAsUser ? Number(sc.runAsUser.value) : Number.isFinite(imageUid) ? imageUid! : NOBODY,
    gid: sc?.runAsGroup ? Number(sc.runAsGroup.value) : Number.isFinite(imageGid) ? imageGid! : NOBODY,
    additionalGids: additionalGids.length ? additionalGids : undefined,
  };
};
