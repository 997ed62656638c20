import { invalidArgument } from '../errors.js';
import { isDigest } from './digest.js';
import type { ImageConfig } from './types.js';

/** The parts of an OCI (or Docker) image config cricket uses. */
export interface ParsedImageConfig {
  config: ImageConfig;
  /** Digests of the uncompressed layers, bottom to top. */
  diffIds: string[];
  os: string;
  architecture: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringList(v: unknown, field: string, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw invalidArgument(`${what}: config.${field} is not a list of strings`);
  return v as string[];
}

function str(v: unknown, field: string, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalidArgument(`${what}: config.${field} is not a string`);
  return v;
}

/** Parses an image config blob; `what` names the image in errors. */
export function parseImageConfig(bytes: Buffer, what: string): ParsedImageConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`${what}: image config is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw invalidArgument(`${what}: image config is not an object`);
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    throw invalidArgument(`${what}: image config has no rootfs of type "layers" with diff_ids`);
  }
  const diffIds = rootfs.diff_ids as unknown[];
  for (const d of diffIds) {
    if (typeof d !== 'string' || !isDigest(d)) throw invalidArgument(`${what}: diff_id ${JSON.stringify(d)} is not a sha256 digest`);
  }
  const c = isObject(doc.config) ? doc.config : {};
  const labels: Record<string, string> = {};
  if (isObject(c.Labels)) {
    for (const [k, v] of Object.entries(c.Labels)) if (typeof v === 'string') labels[k] = v;
  }
  return {
    config: {
      entrypoint: stringList(c.Entrypoint, 'Entrypoint', what),
      cmd: stringList(c.Cmd, 'Cmd', what),
      env: stringList(c.Env, 'Env', what),
      workingDir: str(c.WorkingDir, 'WorkingDir', what),
      user: str(c.User, 'User', what),
      stopSignal: str(c.StopSignal, 'StopSignal', what),
      labels,
    },
    diffIds: diffIds as string[],
    os: typeof doc.os === 'string' ? doc.os : '',
    architecture: typeof doc.architecture === 'string' ? doc.architecture : '',
  };
}
