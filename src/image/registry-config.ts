import { invalidArgument } from '../errors.js';

/**
 * How cricket reaches one registry host, from the `[registries."HOST"]` tables of the config
 * file. HOST is a registry as image references name it ("docker.io", "registry.local:5000"),
 * or a mirror named in another registry's `mirrors`.
 */
export interface RegistryHostConfig {
  /** Mirrors tried in order before the registry itself ("host[:port]", "https://host", "http://host"). */
  mirrors: string[];
  /** Extra CA certificates (PEM files) trusted for this host, beside the system's. */
  caFiles: string[];
  /** Plain HTTP instead of HTTPS. Only for registries named here. */
  insecure: boolean;
  /** Credentials used when the request (kubelet) carries none for this host. */
  username?: string;
  password?: string;
  /** base64("user:password"), as in a docker config.json. */
  auth?: string;
  /** An OAuth2 refresh token (what `docker login` stores as identitytoken). */
  identityToken?: string;
}

export type RegistriesConfig = Record<string, RegistryHostConfig>;

const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?$|^\[[0-9a-fA-F:]+\](?::[0-9]{1,5})?$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses the `registries` table of the config file; `where` names the file in errors. */
export function parseRegistriesConfig(doc: unknown, where: string): RegistriesConfig {
  if (doc === undefined) return {};
  if (!isObject(doc)) throw invalidArgument(`config ${where}: registries must be a table of registry hosts`);
  const out: RegistriesConfig = {};
  for (const [host, raw] of Object.entries(doc)) {
    const what = `config ${where}: registries."${host}"`;
    if (!HOST.test(host)) throw invalidArgument(`${what}: "${host}" is not a registry host[:port]`);
    if (!isObject(raw)) throw invalidArgument(`${what} must be a table`);
    const str = (key: string): string | undefined => {
      const v = raw[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'string') throw invalidArgument(`${what}.${key} must be a string`);
      return v;
    };
    const list = (key: string): string[] => {
      const v = raw[key];
      if (v === undefined) return [];
      if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw invalidArgument(`${what}.${key} must be a list of strings`);
      return v as string[];
    };
    const known = new Set(['mirrors', 'ca_files', 'ca_file', 'insecure', 'username', 'password', 'auth', 'identity_token']);
    for (const key of Object.keys(raw)) if (!known.has(key)) throw invalidArgument(`${what}: unknown key "${key}"`);
    if (raw.insecure !== undefined && typeof raw.insecure !== 'boolean') throw invalidArgument(`${what}.insecure must be true or false`);
    const mirrors = list('mirrors');
    for (const m of mirrors) parseEndpoint(m, `${what}.mirrors`);
    const caFile = str('ca_file');
    out[host] = {
      mirrors,
      caFiles: [...list('ca_files'), ...(caFile ? [caFile] : [])],
      insecure: raw.insecure === true,
      username: str('username'),
      password: str('password'),
      auth: str('auth'),
      identityToken: str('identity_token'),
    };
  }
  return out;
}

/** A mirror entry: "host[:port]", optionally with an http:// or https:// scheme (and no path). */
export function parseEndpoint(value: string, what: string): { host: string; scheme?: 'http' | 'https' } {
  const m = /^(?:(https?):\/\/)?([^/]+)\/?$/.exec(value.trim());
  if (!m || !HOST.test(m[2]!)) throw invalidArgument(`${what}: "${value}" is not host[:port] or http(s)://host[:port]`);
  return { host: m[2]!, scheme: m[1] as 'http' | 'https' | undefined };
}

/** Where a registry named in image references is served: Docker Hub's name is not its host. */
export function registryHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}
