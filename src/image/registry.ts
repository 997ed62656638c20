import type { Readable } from 'node:stream';
import { CricketError, notFound } from '../errors.js';
import { Authorizer, type Credentials } from './auth.js';
import { isDigest, sha256Digest } from './digest.js';
import { httpRequest, readBody, type HttpResponse } from './http.js';

/** One place an image can be fetched from: a registry or one of its mirrors. */
export interface Endpoint {
  /** host[:port] as used in URLs. */
  host: string;
  scheme: 'https' | 'http';
  caFiles: readonly string[];
  credentials?: Credentials;
  /** For messages: "registry docker.io (registry-1.docker.io)" or "mirror m.local". */
  label: string;
  mirror: boolean;
}

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

const ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest].join(', ');

/** Manifests and indexes are small; anything bigger is refused before it is read. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export interface FetchedManifest {
  bytes: Buffer;
  /** From the Content-Type, else the document's own mediaType. */
  mediaType: string;
  digest: string;
}

const MAX_REDIRECTS = 5;

/** A client of the OCI distribution API for one repository on one endpoint. */
export class RegistryClient {
  private readonly authorizer: Authorizer;
  private readonly scope: string;

  constructor(
    readonly endpoint: Endpoint,
    readonly repository: string,
    authorizer?: Authorizer,
  ) {
    this.scope = `repository:${repository}:pull`;
    this.authorizer = authorizer ?? new Authorizer(endpoint.credentials, endpoint.caFiles, endpoint.scheme === 'http', endpoint.label);
  }

  private url(path: string): URL {
    return new URL(`${this.endpoint.scheme}://${this.endpoint.host}/v2/${this.repository}/${path}`);
  }

  /**
   * GET with authorization (learnt from 401 challenges) and redirects. The Authorization header
   * goes to the endpoint's own origin (scheme, host and port of the first request) and nowhere
   * else: every hop is compared with that origin, not with the hop before it, so a storage host
   * that redirects within itself never receives the registry's credentials.
   */
  private async get(path: string, headers: Record<string, string>, what: string): Promise<HttpResponse> {
    let used: string | undefined;
    for (let attempt = 0; ; attempt++) {
      used = await this.authorizer.header(this.scope);
      const first = this.url(path);
      let url = first;
      let res = await httpRequest({ url, headers: { ...headers, ...(used ? { authorization: used } : {}) }, caFiles: this.endpoint.caFiles });
      for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.location; hops++) {
        res.discard();
        if (hops >= MAX_REDIRECTS) throw new CricketError('internal', `${what}: more than ${MAX_REDIRECTS} redirects`);
        let next: URL;
        try {
          next = new URL(res.headers.location, url);
        } catch {
          throw new CricketError('internal', `${what}: redirect to an invalid location`);
        }
        if (next.protocol !== 'https:' && !(next.protocol === 'http:' && this.endpoint.scheme === 'http')) {
          throw new CricketError('failed-precondition', `${what}: redirected to ${next.protocol}//${next.host}, not HTTPS`);
        }
        url = next;
        const toRegistry = sameOrigin(next, first);
        res = await httpRequest({ url, headers: { ...headers, ...(used && toRegistry ? { authorization: used } : {}) }, caFiles: this.endpoint.caFiles });
      }
      if (res.status !== 401) return res;
      res.discard();
      if (attempt >= 2 || !this.authorizer.onUnauthorized(headerValue(res.headers['www-authenticate']), this.scope, used)) {
        throw new CricketError('failed-precondition', `${what}: unauthorized (HTTP 401 from ${this.endpoint.label}${used ? ' with the credentials given' : ''})`);
      }
    }
  }

  /** The manifest (or index) a tag or digest names; its digest verified when one was asked for. */
  async manifest(reference: string): Promise<FetchedManifest> {
    const what = `manifest ${this.repository}:${reference} from ${this.endpoint.label}`;
    const res = await this.get(`manifests/${reference}`, { accept: ACCEPT }, what);
    if (res.status === 404) {
      res.discard();
      throw notFound(`${what}: not found`);
    }
    if (res.status !== 200) throw await statusError(res, what);
    const bytes = await readBody(res, MAX_MANIFEST_BYTES, what);
    const digest = sha256Digest(bytes);
    if (isDigest(reference) && digest !== reference) {
      throw new CricketError('invalid-argument', `${what}: digest mismatch: content is ${digest}`);
    }
    const header = headerValue(res.headers['docker-content-digest']);
    if (!isDigest(reference) && header && header.startsWith('sha256:') && header !== digest) {
      throw new CricketError('invalid-argument', `${what}: registry says the digest is ${header}, content is ${digest}`);
    }
    let mediaType = (headerValue(res.headers['content-type']) ?? '').split(';')[0]!.trim();
    if (!Object.values(MEDIA_TYPES).includes(mediaType as never)) {
      try {
        const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; schemaVersion?: unknown };
        mediaType = typeof doc.mediaType === 'string' ? doc.mediaType
          : Array.isArray(doc.manifests) ? MEDIA_TYPES.ociIndex
          : doc.schemaVersion === 1 ? MEDIA_TYPES.dockerSchema1 : MEDIA_TYPES.ociManifest;
      } catch {
        throw new CricketError('invalid-argument', `${what}: not JSON`);
      }
    }
    return { bytes, mediaType, digest };
  }

  /** A blob's body as a stream; the caller verifies what it reads against the digest. */
  async blob(digest: string): Promise<{ stream: Readable; size?: number }> {
    const what = `blob ${digest} of ${this.repository} from ${this.endpoint.label}`;
    const res = await this.get(`blobs/${digest}`, {}, what);
    if (res.status === 404) {
      res.discard();
      throw notFound(`${what}: not found`);
    }
    if (res.status !== 200) throw await statusError(res, what);
    const length = Number(res.headers['content-length']);
    return { stream: res.body, size: Number.isFinite(length) ? length : undefined };
  }

  /** A small blob (an image config) read whole and verified. */
  async blobBytes(digest: string, expectedSize: number | undefined, max: number): Promise<Buffer> {
    const what = `blob ${digest} of ${this.repository} from ${this.endpoint.label}`;
    if (expectedSize !== undefined && expectedSize > max) throw new CricketError('invalid-argument', `${what}: ${expectedSize} bytes is more than the ${max} allowed`);
    const { stream } = await this.blob(digest);
    const bytes = await readBody({ status: 200, headers: {}, body: stream as never, discard: () => stream.resume() }, max, what);
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw new CricketError('invalid-argument', `${what}: digest mismatch: content is ${actual}`);
    if (expectedSize !== undefined && bytes.length !== expectedSize) {
      throw new CricketError('invalid-argument', `${what}: ${bytes.length} bytes, descriptor says ${expectedSize}`);
    }
    return bytes;
  }
}

/** Same scheme, host and port (URL normalises default ports and host case). */
const sameOrigin = (a: URL, b: URL): boolean => a.protocol === b.protocol && a.hostname === b.hostname && a.port === b.port;

const headerValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

async function statusError(res: HttpResponse, what: string): Promise<CricketError> {
  let detail = '';
  try {
    const body = await readBody(res, 64 * 1024, what);
    const doc = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    detail = (doc.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  } catch {
    // The body is not a distribution error document; the status says enough.
  }
  const kind = res.status === 403 ? 'failed-precondition' : res.status >= 400 && res.status < 500 ? 'invalid-argument' : 'internal';
  return new CricketError(kind, `${what}: HTTP ${res.status}${detail ? ` (${detail})` : ''}`);
}
