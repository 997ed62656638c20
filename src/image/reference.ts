import { invalidArgument } from '../errors.js';
import type { ImageRecord } from './types.js';

/**
 * Image references the way Kubernetes users write them, normalised like Docker and containerd
 * do: `busybox` is `docker.io/library/busybox:latest`, a first component with a dot, a colon
 * or named localhost is a registry, and a reference without tag or digest means `:latest`.
 */
export interface ImageReference {
  /** Registry host (with port), e.g. "docker.io", "cricket.local", "localhost:5000". */
  domain: string;
  /** Repository path below the registry, e.g. "library/busybox". */
  path: string;
  /** domain + "/" + path. */
  name: string;
  /** Undefined only when a digest is given without a tag. */
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const IPV6_DOMAIN = /^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const ID_ONLY = /^[0-9a-f]{64}$/;

export const DEFAULT_DOMAIN = 'docker.io';

/** Parses and normalises a reference; throws invalid-argument saying what is wrong with it. */
export function parseReference(input: string): ImageReference {
  const ref = input.trim();
  const bad = (why: string) => invalidArgument(`invalid image reference "${input}": ${why}`);
  if (ref === '') throw bad('empty');
  if (ref.length > 4096) throw bad('too long');

  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`digest "${digest}" is not sha256:<64 hex>`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`tag "${tag}" is not valid`);
  }
  if (rest === '') throw bad('no repository name');

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!DOMAIN.test(domain) && !IPV6_DOMAIN.test(domain)) throw bad(`registry "${domain}" is not a host name`);
    }
  }
  if (domain === 'index.docker.io' || domain === 'registry-1.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  for (const component of path.split('/')) {
    if (!COMPONENT.test(component)) throw bad(`repository component "${component}" must be lower case letters, digits and separators`);
  }
  if (ID_ONLY.test(rest)) throw bad('a 64-hex name is an image id, not a repository');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { domain, path, name: `${domain}/${path}`, tag, digest };
}

/** `name:tag`, or `name@digest` when the reference carries a digest (a tag beside it is dropped). */
export function normalizeReference(input: string): string {
  const r = parseReference(input);
  return r.digest ? `${r.name}@${r.digest}` : `${r.name}:${r.tag}`;
}

/** `name:tag` for a reference that must name a tag (what `--name` gives an imported image). */
export function normalizeTag(input: string): string {
  const r = parseReference(input);
  if (r.digest) throw invalidArgument(`"${input}" names a digest; an image can only be tagged with name:tag`);
  return `${r.name}:${r.tag}`;
}

/** True when the string may be meant as an image id or a prefix of one (3+ hex digits). */
export function looksLikeImageId(value: string): boolean {
  return /^sha256:[0-9a-f]{1,64}$/.test(value) || /^[0-9a-f]{3,64}$/.test(value);
}

/** True when the image carries the reference as one of its names: a tag, or a repo digest. */
export function carriesReference(image: Pick<ImageRecord, 'repoTags' | 'repoDigests'>, ref: ImageReference): boolean {
  return ref.digest ? image.repoDigests.includes(`${ref.name}@${ref.digest}`) : image.repoTags.includes(`${ref.name}:${ref.tag}`);
}
