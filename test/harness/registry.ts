// Local OCI registries for tests: Debian's docker-registry (the distribution registry) on a free
// loopback port with TLS from a CA the test makes, optionally behind htpasswd Basic auth or a
// bearer-token server run here; images pushed through the distribution API from Node; and a
// tiny fake registry for what docker-registry refuses to store (blobs that do not match).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { REPO, TEST_PREFIX } from './cricket.js';

export const sha256 = (buf: Buffer | string): string => `sha256:${createHash('sha256').update(buf).digest('hex')}`;

// ---------------------------------------------------------------- certificates

export interface TestCa {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
}

/** A CA and a server certificate for 127.0.0.1 and localhost, made with openssl. */
export function makeCa(dir: string): TestCa {
  const p = (f: string) => join(dir, f);
  const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.crt'),
    '-days', '2', '-subj', '/CN=cricket test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ossl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(p('server.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ossl(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-sha256', '-extfile', p('server.ext'), '-out', p('server.crt')]);
  return { dir, caCert: p('ca.crt'), serverCert: p('server.crt'), serverKey: p('server.key') };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------- HTTP client for pushing

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(url: URL, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string; ca?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method: opts.method ?? 'GET', headers: opts.headers, ca: opts.ca, agent: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url.href}: timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

// ---------------------------------------------------------------- images

export interface BlobSet {
  /** Tag or digest → manifest (or index) bytes and media type, pushed in order. */
  manifests: Array<{ ref: string; mediaType: string; bytes: Buffer }>;
  blobs: Buffer[];
}

export interface TarSpec {
  path: string;
  type?: 'file' | 'hardlink' | 'symlink' | 'dir' | 'char' | 'block' | 'fifo';
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  data?: Buffer;
}

interface OciLayer { gz: Buffer; diffId: string; digest: string }
interface OciLib {
  makeLayer(entries: TarSpec[]): OciLayer & { tar: Buffer };
  makeImage(spec: { ref: string; config: Record<string, unknown>; layers: OciLayer[] }): unknown;
  writeLayout(dir: string, image: unknown): void;
  tarOfFiles(files: Array<[string, Buffer]>): Buffer;
}
interface TarLib {
  tarArchive(entries: TarSpec[]): Buffer;
}

export async function libs(): Promise<{ oci: OciLib; tar: TarLib }> {
  const oci = (await import(pathToFileURL(join(REPO, 'images/lib/oci.mjs')).href)) as OciLib;
  const tar = (await import(pathToFileURL(join(REPO, 'images/lib/tar.mjs')).href)) as TarLib;
  return { oci, tar };
}

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  gzipLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstdLayer: 'application/vnd.oci.image.layer.v1.tar+zstd',
  tarLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
};

/** A layer blob from a plain tar: gzip, zstd (Debian's zstd) or uncompressed. */
export function layerBlob(tar: Buffer, compression: 'gzip' | 'zstd' | 'none' = 'gzip'): { blob: Buffer; diffId: string; digest: string; mediaType: string } {
  const blob = compression === 'gzip' ? gzipSync(tar) : compression === 'zstd' ? execFileSync('zstd', ['-q', '-c', '-3'], { input: tar, maxBuffer: 1 << 30 }) : tar;
  const mediaType = compression === 'gzip' ? MT.gzipLayer : compression === 'zstd' ? MT.zstdLayer : MT.tarLayer;
  return { blob, diffId: sha256(tar), digest: sha256(blob), mediaType };
}

export interface BuiltImage {
  configBytes: Buffer;
  configDigest: string;
  manifestBytes: Buffer;
  manifestDigest: string;
  mediaType: string;
  layers: Array<{ blob: Buffer; diffId: string; digest: string; mediaType: string }>;
}

/** Config and manifest (OCI or Docker schema 2) of an image made of the given layers. */
export function buildImage(layers: BuiltImage['layers'], opts: { config?: Record<string, unknown>; arch?: string; docker?: boolean; salt?: string } = {}): BuiltImage {
  const configBytes = Buffer.from(JSON.stringify({
    created: '2024-01-01T00:00:00Z',
    architecture: opts.arch ?? 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], Labels: opts.salt ? { salt: opts.salt } : undefined, ...opts.config },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  }));
  const configDigest = sha256(configBytes);
  const mediaType = opts.docker ? MT.dockerManifest : MT.ociManifest;
  const manifestBytes = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: { mediaType: opts.docker ? MT.dockerConfig : MT.ociConfig, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: opts.docker ? MT.dockerLayer : l.mediaType, digest: l.digest, size: l.blob.length })),
  }));
  return { configBytes, configDigest, manifestBytes, manifestDigest: sha256(manifestBytes), mediaType, layers };
}

/** An index (OCI or Docker manifest list) over images of several platforms. */
export function buildIndex(images: Array<{ image: BuiltImage; os?: string; arch: string; variant?: string }>, docker = false): { bytes: Buffer; digest: string; mediaType: string } {
  const mediaType = docker ? MT.dockerList : MT.ociIndex;
  const bytes = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType,
    manifests: images.map(({ image, os, arch, variant }) => ({
      mediaType: image.mediaType,
      digest: image.manifestDigest,
      size: image.manifestBytes.length,
      platform: { os: os ?? 'linux', architecture: arch, ...(variant ? { variant } : {}) },
    })),
  }));
  return { bytes, digest: sha256(bytes), mediaType };
}

/** The busybox image built offline (build/images/busybox): its layer and config. */
export function busyboxLayer(): BuiltImage['layers'][number] {
  const layout = join(REPO, 'build', 'images', 'busybox');
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const blob = (d: string) => readFileSync(join(layout, 'blobs', 'sha256', d.slice(7)));
  const manifest = JSON.parse(blob(index.manifests[0]!.digest).toString('utf8')) as { config: { digest: string }; layers: Array<{ digest: string; mediaType: string }> };
  const config = JSON.parse(blob(manifest.config.digest).toString('utf8')) as { rootfs: { diff_ids: string[] } };
  const l = manifest.layers[0]!;
  return { blob: blob(l.digest), digest: l.digest, diffId: config.rootfs.diff_ids[0]!, mediaType: l.mediaType };
}

/**
 * Writes an OCI layout at `dir` of an image named `ref`: the busybox layer, then one layer of
 * `entries` on top (files of any type, with any owner and mode), for `cricket image import`.
 */
export async function writeImageLayout(dir: string, ref: string, entries: TarSpec[], config: Record<string, unknown> = {}): Promise<void> {
  const { oci } = await libs();
  const base = busyboxLayer();
  const image = oci.makeImage({
    ref,
    config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...config },
    layers: [{ gz: base.blob, diffId: base.diffId, digest: base.digest }, oci.makeLayer(entries)],
  });
  oci.writeLayout(dir, image);
}

// ---------------------------------------------------------------- token server

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Requests seen: account (or "" for anonymous) and scopes asked for. */
  requests: Array<{ account: string; scope: string[]; grant?: string }>;
  /** A token for `scope`, as a registry_token would be. */
  issue(account: string, access: Array<{ name: string; actions: string[] }>): string;
  stop(): Promise<void>;
}

/**
 * distribution's token protocol: GET realm?service&scope (Basic credentials optional) and the
 * OAuth2 POST (refresh_token grant). JWTs signed with ES256; the signing certificate goes in
 * the registry's rootcertbundle and in each token's x5c header.
 */
export async function startTokenServer(dir: string, ca: TestCa, opts: {
  users: Record<string, string>;
  /** Repositories anyone may pull. */
  publicRepos: RegExp;
  /** Refresh tokens (identity tokens) and the account each stands for. */
  refreshTokens?: Record<string, string>;
}): Promise<TokenServer> {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=cricket test token issuer'], { stdio: 'ignore' });
  const key = createPrivateKey(readFileSync(keyFile));
  const der = readFileSync(certFile, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const service = 'cricket-test-registry';
  const issuer = 'cricket-test-issuer';
  const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const issue = (account: string, access: Array<{ name: string; actions: string[] }>) => {
    const now = Math.floor(Date.now() / 1000);
    const head = b64({ alg: 'ES256', typ: 'JWT', x5c: [der] });
    const claims = b64({ iss: issuer, sub: account, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access: access.map((a) => ({ type: 'repository', ...a })) });
    const sig = sign('sha256', Buffer.from(`${head}.${claims}`), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    return `${head}.${claims}.${sig}`;
  };
  const requests: TokenServer['requests'] = [];
  const grant = (account: string, scopes: string[]) => scopes.flatMap((s) => {
    const m = /^repository:([^:]+):(.+)$/.exec(s);
    if (!m) return [];
    const wanted = m[2]!.split(',');
    const actions = account !== '' ? wanted : opts.publicRepos.test(m[1]!) ? wanted.filter((a) => a === 'pull') : [];
    return actions.length ? [{ name: m[1]!, actions }] : [];
  });
  const server = https.createServer({ cert: readFileSync(ca.serverCert), key: readFileSync(ca.serverKey) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://x');
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url.pathname !== '/token') return reply(404, {});
      let account = '';
      let scopes: string[];
      if (req.method === 'POST') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        const who = opts.refreshTokens?.[form.get('refresh_token') ?? ''];
        requests.push({ account: who ?? '?', scope: scopes, grant: form.get('grant_type') ?? '' });
        if (form.get('grant_type') !== 'refresh_token' || !who) return reply(401, { error: 'invalid_grant' });
        return reply(200, { access_token: issue(who, grant(who, scopes)), expires_in: 300 });
      }
      scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
      const authz = req.headers.authorization;
      if (authz?.startsWith('Basic ')) {
        const [user, ...rest] = Buffer.from(authz.slice(6), 'base64').toString('utf8').split(':');
        if (opts.users[user ?? ''] !== rest.join(':')) {
          requests.push({ account: `!${user}`, scope: scopes });
          return reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] });
        }
        account = user!;
      }
      requests.push({ account, scope: scopes });
      return reply(200, { token: issue(account, grant(account, scopes)), expires_in: 300 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    realm: `https://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    issue,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

// ---------------------------------------------------------------- docker-registry

export interface TestRegistry {
  /** host:port, e.g. "127.0.0.1:40123": what image references name. */
  host: string;
  ca: TestCa;
  dir: string;
  scheme: 'https' | 'http';
  /** Pushes blobs, then manifests (an index after the manifests it lists). */
  push(repo: string, image: BuiltImage, tag?: string): Promise<void>;
  pushIndex(repo: string, index: { bytes: Buffer; digest: string; mediaType: string }, images: BuiltImage[], tag: string): Promise<void>;
  /** Blob requests the registry logged (GET /v2/…/blobs/…), for "fetched once" checks. */
  blobGets(): number;
  /** Uploads (PUT or PATCH, which carry a body) the registry refused with 401. */
  unauthorizedUploads(): number;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** TLS (default) or plain HTTP. */
  tls?: boolean;
  auth?: { htpasswd: Record<string, string> } | { token: TokenServer };
  /** For pushing to a registry with auth. */
  pushUser?: { username: string; password: string };
  ca?: TestCa;
  dir?: string;
}

/** Starts Debian's docker-registry on a free loopback port; stop() ends it and removes its files. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = opts.dir ?? mkdtempSync(`${TEST_PREFIX}registry-`);
  const ca = opts.ca ?? makeCa(dir);
  const tls = opts.tls !== false;
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let authYaml = '';
  if (opts.auth && 'htpasswd' in opts.auth) {
    const lines = Object.entries(opts.auth.htpasswd).map(([u, p]) => execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim());
    writeFileSync(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: cricket-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (opts.auth && 'token' in opts.auth) {
    const t = opts.auth.token;
    authYaml = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.certFile}\n`;
  }
  const config = join(dir, 'registry.yml');
  writeFileSync(config, `version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ${host}
  secret: ${randomBytes(16).toString('hex')}
${tls ? `  tls:\n    certificate: ${ca.serverCert}\n    key: ${ca.serverKey}\n` : ''}${authYaml}`);
  const logFile = join(dir, 'registry.log');
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const scheme = tls ? 'https' : 'http';
  const caPem = readFileSync(ca.caCert, 'utf8');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    log.end();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
      try {
        const r = await request(new URL(`${scheme}://${host}/v2/`), { ca: caPem });
        if (r.status === 200 || r.status === 401) break;
      } catch {
        // not listening yet
      }
      if (i > 200) throw new Error('docker-registry did not come up');
      await sleep(50);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  // Pushing: Basic credentials, or a token with push scope from the token server. Once a 401 has
  // named the scheme, every later request carries credentials from the start: a blob PUT sent
  // without them is refused before its body is read and the connection closed under the
  // client, which then fails with "write ECONNRESET" whenever that error reaches it before the
  // 401 does.
  const tokens = new Map<string, string>();
  let learned: string | undefined;
  const authHeader = async (repo: string, challenge: string | undefined): Promise<string | undefined> => {
    if (!opts.pushUser) return undefined;
    const basic = `Basic ${Buffer.from(`${opts.pushUser.username}:${opts.pushUser.password}`).toString('base64')}`;
    if (!challenge || /^Basic/i.test(challenge)) return basic;
    if (tokens.has(repo)) return tokens.get(repo);
    const realm = /realm="([^"]+)"/.exec(challenge)![1]!;
    const service = /service="([^"]+)"/.exec(challenge)?.[1] ?? '';
    const url = new URL(realm);
    url.searchParams.set('service', service);
    url.searchParams.set('scope', `repository:${repo}:pull,push`);
    const r = await request(url, { headers: { authorization: basic }, ca: caPem });
    const token = `Bearer ${(JSON.parse(r.body.toString('utf8')) as { token: string }).token}`;
    tokens.set(repo, token);
    return token;
  };
  const call = async (repo: string, url: URL, o: { method: string; headers?: Record<string, string>; body?: Buffer }): Promise<Reply> => {
    let challenge: string | undefined = tokens.has(repo) ? 'Bearer' : learned;
    for (let attempt = 0; attempt < 2; attempt++) {
      const a = attempt === 0 && !challenge ? undefined : await authHeader(repo, challenge);
      const r = await request(url, { method: o.method, headers: { ...o.headers, ...(a ? { authorization: a } : {}) }, body: o.body, ca: caPem });
      if (r.status !== 401) return r;
      challenge = r.headers['www-authenticate'] as string | undefined;
      learned = challenge;
      tokens.delete(repo);
    }
    throw new Error(`push to ${url.href}: unauthorized`);
  };
  const base = `${scheme}://${host}/v2`;
  const pushBlob = async (repo: string, blob: Buffer) => {
    const digest = sha256(blob);
    // The HEAD (no body) learns the auth scheme before any body is sent.
    const head = await call(repo, new URL(`${base}/${repo}/blobs/${digest}`), { method: 'HEAD' });
    if (head.status === 200) return;
    const start = await call(repo, new URL(`${base}/${repo}/blobs/uploads/`), { method: 'POST', headers: { 'content-length': '0' } });
    if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status} ${start.body.toString()}`);
    const loc = new URL(start.headers.location!, `${scheme}://${host}`);
    loc.searchParams.set('digest', digest);
    const put = await call(repo, loc, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.length) }, body: blob });
    if (put.status !== 201) throw new Error(`blob upload ${digest}: HTTP ${put.status} ${put.body.toString()}`);
  };
  const pushManifest = async (repo: string, ref: string, mediaType: string, bytes: Buffer) => {
    const r = await call(repo, new URL(`${base}/${repo}/manifests/${ref}`), { method: 'PUT', headers: { 'content-type': mediaType }, body: bytes });
    if (r.status !== 201) throw new Error(`manifest ${repo}:${ref}: HTTP ${r.status} ${r.body.toString()}`);
  };
  const push = async (repo: string, image: BuiltImage, tag?: string) => {
    for (const l of image.layers) await pushBlob(repo, l.blob);
    await pushBlob(repo, image.configBytes);
    await pushManifest(repo, tag ?? image.manifestDigest, image.mediaType, image.manifestBytes);
  };
  return {
    host, ca, dir, scheme,
    push,
    async pushIndex(repo, index, images, tag) {
      for (const img of images) await push(repo, img);
      await pushManifest(repo, tag, index.mediaType, index.bytes);
    },
    unauthorizedUploads: () => readFileSync(logFile, 'utf8').split('\n').filter((l) => /"(?:PUT|PATCH) \/v2\/[^ ]+ HTTP\/[0-9.]+" 401 /.test(l)).length,
    blobGets: () => readFileSync(logFile, 'utf8').split('\n').filter((l) => /"GET \/v2\/[^ ]+\/blobs\/sha256:[0-9a-f]{64} HTTP/.test(l) && / 200 /.test(l)).length,
    stop,
  };
}

// ---------------------------------------------------------------- fake registry

export interface FakeRegistry {
  host: string;
  /** Requests for each path, counted. */
  hits: Map<string, number>;
  /** Blob responses: digest, bytes handed to the socket, and whether the whole blob went out. */
  served: Array<{ digest: string; bytes: number; complete: boolean }>;
  stop(): Promise<void>;
}

/**
 * A plain-HTTP registry serving fixed content: manifests by tag or digest, blobs by digest —
 * with no check that a blob matches its name (docker-registry would refuse to store such a
 * blob). `cut` blobs are sent halfway and then the connection is dropped.
 */
export async function startFakeRegistry(repo: string, content: {
  manifests: Record<string, { mediaType: string; bytes: Buffer }>;
  blobs: Record<string, Buffer>;
  cut?: Set<string>;
  /** Blobs sent without Content-Length, 64 KiB at a time as the client reads them. */
  chunked?: Set<string>;
}): Promise<FakeRegistry> {
  const hits = new Map<string, number>();
  const served: FakeRegistry['served'] = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/v2/') {
      res.writeHead(200).end('{}');
      return;
    }
    const m = new RegExp(`^/v2/${repo}/(manifests|blobs)/([^/?]+)$`).exec(path);
    if (m?.[1] === 'manifests' && content.manifests[m[2]!]) {
      const man = content.manifests[m[2]!]!;
      res.writeHead(200, { 'content-type': man.mediaType, 'content-length': man.bytes.length }).end(man.bytes);
      return;
    }
    if (m?.[1] === 'blobs' && content.blobs[m[2]!]) {
      const blob = content.blobs[m[2]!]!;
      if (content.cut?.has(m[2]!)) {
        res.writeHead(200, { 'content-length': blob.length });
        res.write(blob.subarray(0, blob.length >> 1), () => setTimeout(() => res.destroy(), 20));
        return;
      }
      if (content.chunked?.has(m[2]!)) {
        const record = { digest: m[2]!, bytes: 0, complete: false };
        served.push(record);
        res.writeHead(200);
        let off = 0;
        const pump = () => {
          while (off < blob.length && !res.destroyed) {
            const chunk = blob.subarray(off, off + 65536);
            off += chunk.length;
            record.bytes += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          if (off >= blob.length && !res.destroyed) res.end();
        };
        res.on('finish', () => {
          record.complete = true;
        });
        pump();
        return;
      }
      res.writeHead(200, { 'content-length': blob.length }).end(blob);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'NOT_FOUND', message: path }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    hits,
    served,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
