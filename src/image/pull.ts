import { Readable } from 'node:stream';
import { CricketError, invalidArgument, notFound } from '../errors.js';
import { logger, stopwatch } from '../log/logger.js';
import { credentialsFrom, type Credentials } from './auth.js';
import { chainIds, isDigest } from './digest.js';
import { hostPlatform, type ImageSource } from './import.js';
import { parseReference, type ImageReference } from './reference.js';
import { MAX_CONFIG_BYTES, MEDIA_TYPES, RegistryClient, type Endpoint, type FetchedManifest } from './registry.js';
import { parseEndpoint, registryHost, type RegistriesConfig } from './registry-config.js';
import type { ImageStore, ImportProgress } from './store.js';
import type { ImageRecord } from './types.js';
import { SingleFlight } from '../store/keyed-queue.js';

/** CRI's AuthConfig, as kubelet sends it (secrets: never logged). */
export interface PullAuth {
  username?: string;
  password?: string;
  auth?: string;
  serverAddress?: string;
  identityToken?: string;
  registryToken?: string;
}

export interface PullOptions {
  auth?: PullAuth;
  onProgress?: (p: ImportProgress) => void;
}

export interface PullResult {
  image: ImageRecord;
  /** Bytes fetched over the network for layers (0 when every layer was already there). */
  fetchedBytes: number;
  /** Layers fetched, and layers the store already had. */
  layersFetched: number;
  layersPresent: number;
  endpoint: string;
  ms: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

function descriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v) || typeof v.digest !== 'string' || !isDigest(v.digest)) throw invalidArgument(`${what}: descriptor without a sha256 digest`);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) throw invalidArgument(`${what}: descriptor ${v.digest} without a valid size`);
  return {
    mediaType: typeof v.mediaType === 'string' ? v.mediaType : '',
    digest: v.digest,
    size: v.size,
    platform: isObject(v.platform) ? (v.platform as Descriptor['platform']) : undefined,
  };
}

function parseJson(m: FetchedManifest, what: string): Record<string, unknown> {
  try {
    const doc = JSON.parse(m.bytes.toString('utf8')) as unknown;
    if (isObject(doc)) return doc;
  } catch {
    // fall through
  }
  throw invalidArgument(`${what}: manifest is not a JSON object`);
}

const isIndex = (t: string) => t === MEDIA_TYPES.ociIndex || t === MEDIA_TYPES.dockerList;
const isManifest = (t: string) => t === MEDIA_TYPES.ociManifest || t === MEDIA_TYPES.dockerManifest;

/** The index entry for this machine: linux and our architecture (arm64 prefers variant v8). */
export function selectPlatform(entries: Descriptor[]): Descriptor | undefined {
  const candidates = entries.filter((d) => (isManifest(d.mediaType) || d.mediaType === '')
    && (d.platform?.os ?? 'linux') === hostPlatform.os
    && (d.platform?.architecture ?? '') === hostPlatform.architecture);
  const rank = (d: Descriptor) => (d.platform?.variant === undefined || d.platform.variant === '' ? 0 : d.platform.variant === 'v8' ? 1 : 2);
  return [...candidates].sort((a, b) => rank(a) - rank(b))[0];
}

/**
 * Pulls images from registries over the OCI distribution API into an ImageStore. Mirrors of a
 * registry are tried in order, then the registry itself; one pull of a reference at a time
 * (a second caller shares the first one's result), and layers the store has are not fetched.
 */
export class Puller {
  /** Two pulls of one reference at once fetch it once. */
  private readonly inflight = new SingleFlight<PullResult>();

  constructor(
    private readonly store: ImageStore,
    private readonly registries: RegistriesConfig = {},
  ) {}

  /** Where an image of `domain` may be fetched from, in the order to try. */
  endpoints(domain: string, auth?: PullAuth): Endpoint[] {
    const own = this.registries[domain];
    const requestCreds = credentialsFrom(auth);
    const requestHost = auth?.serverAddress ? normalizeServer(auth.serverAddress) : undefined;
    const out: Endpoint[] = [];
    for (const m of own?.mirrors ?? []) {
      const { host, scheme } = parseEndpoint(m, `registries."${domain}".mirrors`);
      const cfg = this.registries[host];
      out.push({
        host,
        scheme: scheme ?? (cfg?.insecure ? 'http' : 'https'),
        caFiles: cfg?.caFiles ?? [],
        // The request's credentials are for the registry; a mirror gets them only when named.
        credentials: requestHost === host && requestCreds ? requestCreds : credentialsFrom(cfg),
        label: `mirror ${host} of ${domain}`,
        mirror: true,
      });
    }
    const host = registryHost(domain);
    const forRegistry = requestCreds && (requestHost === undefined || requestHost === domain || requestHost === host) ? requestCreds : undefined;
    out.push({
      host,
      scheme: own?.insecure ? 'http' : 'https',
      caFiles: own?.caFiles ?? [],
      credentials: forRegistry ?? credentialsFrom(own),
      label: host === domain ? `registry ${domain}` : `registry ${domain} (${host})`,
      mirror: false,
    });
    return out;
  }

  /** Pulls `ref` (as Kubernetes users write it) and returns the stored image. */
  async pull(ref: string, opts: PullOptions = {}): Promise<PullResult> {
    const r = parseReference(ref);
    const key = r.digest ? `${r.name}@${r.digest}` : `${r.name}:${r.tag}`;
    return this.inflight.run(key, () => this.pullOnce(r, key, opts));
  }

  private async pullOnce(r: ImageReference, key: string, opts: PullOptions): Promise<PullResult> {
    const elapsed = stopwatch();
    const endpoints = this.endpoints(r.domain, opts.auth);
    const failures: string[] = [];
    let lastError: unknown;
    for (const ep of endpoints) {
      try {
        const result = await this.pullFrom(ep, r, key, opts);
        result.ms = elapsed();
        logger.info({
          image: key, id: result.image.id, endpoint: ep.host, size: result.image.size, fetchedBytes: result.fetchedBytes,
          layersFetched: result.layersFetched, layersPresent: result.layersPresent, ms: result.ms,
        }, 'image pulled');
        return result;
      } catch (err) {
        lastError = err;
        failures.push(`${ep.label}: ${(err as Error).message}`);
        if (ep.mirror) logger.warn({ image: key, endpoint: ep.host, err: (err as Error).message }, 'pull from mirror failed; trying the next');
      }
    }
    logger.warn({ image: key, ms: elapsed(), err: failures.join('; ') }, 'image pull failed');
    const kind = lastError instanceof CricketError ? lastError.kind : 'internal';
    throw new CricketError(kind, `pulling ${key}: ${failures.length > 1 ? failures.join('; ') : (lastError as Error).message}`, { cause: lastError });
  }

  private async pullFrom(ep: Endpoint, r: ImageReference, key: string, opts: PullOptions): Promise<PullResult> {
    const client = new RegistryClient(ep, r.path);
    const what = `${key} from ${ep.label}`;
    opts.onProgress?.({ phase: 'manifest', image: key, bytes: 0 });
    const top = await client.manifest(r.digest ?? r.tag!);
    const blobs: Array<{ digest: string; bytes: Buffer }> = [];
    let manifest = top;
    if (isIndex(top.mediaType)) {
      const index = parseJson(top, what);
      if (!Array.isArray(index.manifests)) throw invalidArgument(`${what}: index without manifests`);
      const entries = index.manifests.map((m, i) => descriptor(m, `${what} index entry ${i + 1}`));
      const pick = selectPlatform(entries);
      if (!pick) {
        const have = entries.map((e) => `${e.platform?.os ?? '?'}/${e.platform?.architecture ?? '?'}`).join(', ');
        throw notFound(`${what}: no image for ${hostPlatform.os}/${hostPlatform.architecture} in the index (has ${have || 'nothing'})`);
      }
      blobs.push({ digest: top.digest, bytes: top.bytes });
      manifest = await client.manifest(pick.digest);
      if (manifest.bytes.length !== pick.size) throw invalidArgument(`${what}: manifest ${pick.digest} is ${manifest.bytes.length} bytes, index says ${pick.size}`);
      if (isIndex(manifest.mediaType)) throw invalidArgument(`${what}: nested index ${pick.digest} is not supported`);
    }
    if (manifest.mediaType === MEDIA_TYPES.dockerSchema1 || manifest.mediaType === MEDIA_TYPES.dockerSchema1Signed) {
      throw invalidArgument(`${what}: Docker schema 1 manifests are not supported (deprecated); push the image again with a current client`);
    }
    if (!isManifest(manifest.mediaType)) throw invalidArgument(`${what}: unsupported manifest type "${manifest.mediaType}"`);
    const doc = parseJson(manifest, what);
    if (!Array.isArray(doc.layers)) throw invalidArgument(`${what}: manifest has no layers`);
    const config = descriptor(doc.config, `${what} config`);
    const layers = doc.layers.map((l, i) => descriptor(l, `${what} layer ${i + 1}`));
    for (const [i, l] of layers.entries()) {
      if (/\+encrypted$/.test(l.mediaType)) throw invalidArgument(`${what}: layer ${i + 1} is encrypted (${l.mediaType})`);
    }
    const configBytes = await client.blobBytes(config.digest, config.size, MAX_CONFIG_BYTES);

    let fetchedBytes = 0;
    let layersFetched = 0;
    const source: ImageSource = {
      origin: what,
      configBytes,
      configDigest: config.digest,
      configSize: config.size,
      manifestDigest: manifest.digest,
      blobs: [{ digest: manifest.digest, bytes: manifest.bytes }, ...blobs],
      names: r.digest ? [] : [key],
      repoDigests: [`${r.name}@${top.digest}`],
      layers: layers.map((l) => ({
        digest: l.digest,
        size: l.size,
        mediaType: l.mediaType,
        open: async () => {
          layersFetched++;
          const { stream, size } = await client.blob(l.digest);
          if (size !== undefined && size !== l.size) {
            stream.destroy();
            throw invalidArgument(`blob ${l.digest}: registry sends ${size} bytes, manifest says ${l.size}`);
          }
          async function* counted(): AsyncGenerator<Buffer> {
            let got = 0;
            try {
              for await (const chunk of stream as AsyncIterable<Buffer>) {
                fetchedBytes += chunk.length;
                got += chunk.length;
                // Cut off at once: a registry sending more than the manifest says is not believed.
                if (got > l.size) throw invalidArgument(`blob ${l.digest}: registry sends more than the ${l.size} bytes the manifest gives`);
                yield chunk;
              }
            } catch (err) {
              if (err instanceof CricketError) throw err;
              throw new CricketError('internal', `download of blob ${l.digest} interrupted after ${got} of ${l.size} bytes: ${(err as Error).message}`, { cause: err });
            }
          }
          return Readable.from(counted(), { objectMode: false });
        },
      })),
    };
    const present = chainIds(parseDiffIds(configBytes)).filter((c) => this.store.hasLayer(c)).length;
    const image = await this.store.importImage(source, { onProgress: opts.onProgress });
    return { image, fetchedBytes, layersFetched, layersPresent: present, endpoint: ep.host, ms: 0 };
  }
}

function parseDiffIds(config: Buffer): string[] {
  try {
    const doc = JSON.parse(config.toString('utf8')) as { rootfs?: { diff_ids?: unknown } };
    const ids = doc.rootfs?.diff_ids;
    return Array.isArray(ids) ? ids.filter((d): d is string => typeof d === 'string' && isDigest(d)) : [];
  } catch {
    return [];
  }
}

/** A docker config "server address" ("https://index.docker.io/v1/", "host:5000") as a host. */
function normalizeServer(address: string): string {
  const host = address.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

export type { Credentials };
