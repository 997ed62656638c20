import { CricketError, invalidArgument } from '../errors.js';
import { httpRequest, readBody } from './http.js';

/**
 * Credentials for one registry, from CRI's AuthConfig or the config file. Secrets: never logged.
 * `registryToken` is a bearer token used as it is; `identityToken` an OAuth2 refresh token
 * exchanged at the token server; username/password work for Basic and for token servers.
 */
export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

/** CRI's AuthConfig (or a config entry) as credentials; undefined when it holds none. */
export function credentialsFrom(a: { username?: string; password?: string; auth?: string; identityToken?: string; registryToken?: string } | undefined): Credentials | undefined {
  if (!a) return undefined;
  let { username, password } = a;
  if (a.auth) {
    const decoded = Buffer.from(a.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw invalidArgument('auth: "auth" is not base64 of "user:password"');
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  const c: Credentials = {};
  if (username) c.username = username;
  if (password) c.password = password;
  if (a.identityToken) c.identityToken = a.identityToken;
  if (a.registryToken) c.registryToken = a.registryToken;
  return Object.keys(c).length > 0 ? c : undefined;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = m[2] ?? '';
  let p: RegExpExecArray | null;
  while (re.lastIndex < rest.length && (p = re.exec(rest)) !== null) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

const basic = (c: Credentials): string => `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`;

export interface TokenRequest {
  challenge: Challenge;
  /** The scope the request needs, e.g. "repository:library/busybox:pull". */
  scope: string;
  credentials?: Credentials;
  caFiles: readonly string[];
  /** Registries configured insecure may name a plain-HTTP token realm. */
  allowHttpRealm: boolean;
}

export interface Token {
  value: string;
  /** Milliseconds since the epoch after which the token is not reused. */
  expiresAt: number;
}

/**
 * Gets a bearer token from the challenge's realm (distribution's token protocol): anonymous,
 * with Basic credentials, or by exchanging an identity (refresh) token with an OAuth2 POST.
 */
export async function fetchToken(req: TokenRequest): Promise<Token> {
  const { params } = req.challenge;
  if (!params.realm) throw new CricketError('failed-precondition', 'registry asked for a bearer token without naming a realm');
  let realm: URL;
  try {
    realm = new URL(params.realm);
  } catch {
    throw new CricketError('failed-precondition', `registry token realm "${params.realm}" is not a URL`);
  }
  if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && req.allowHttpRealm)) {
    throw new CricketError('failed-precondition', `registry token realm ${realm.origin} is not HTTPS`);
  }
  const scopes = [...new Set([req.scope, ...(params.scope ? params.scope.split(' ') : [])])].filter((s) => s !== '');
  const creds = req.credentials;
  let res;
  if (creds?.identityToken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'cricket' });
    if (params.service) form.set('service', params.service);
    if (scopes.length) form.set('scope', scopes.join(' '));
    res = await httpRequest({
      url: realm,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      caFiles: req.caFiles,
    });
  } else {
    const url = new URL(realm);
    if (params.service) url.searchParams.set('service', params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    if (creds?.username !== undefined || creds?.password !== undefined) {
      url.searchParams.set('account', creds.username ?? '');
      headers.authorization = basic(creds);
    }
    res = await httpRequest({ url, headers, caFiles: req.caFiles });
  }
  const body = await readBody(res, 1024 * 1024, `token from ${realm.origin}`);
  if (res.status === 401 || res.status === 403) {
    throw new CricketError('failed-precondition', `unauthorized: token server ${realm.origin} refused the ${creds ? 'credentials' : 'anonymous request'} (HTTP ${res.status})`);
  }
  if (res.status !== 200) {
    throw new CricketError('internal', `token server ${realm.origin} answered HTTP ${res.status}: ${body.toString('utf8').slice(0, 200)}`);
  }
  let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    doc = JSON.parse(body.toString('utf8')) as typeof doc;
  } catch {
    throw new CricketError('internal', `token server ${realm.origin} answered with something other than JSON`);
  }
  const value = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
  if (!value) throw new CricketError('internal', `token server ${realm.origin} answered without a token`);
  const seconds = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
  // Renewed a little early, so a token never expires between check and use.
  return { value, expiresAt: Date.now() + Math.max(1, seconds - 10) * 1000 };
}

/**
 * The Authorization header for requests of one registry endpoint: learns the scheme from the
 * first 401 challenge, caches bearer tokens per scope until they expire.
 */
export class Authorizer {
  private challenge?: Challenge;
  private readonly tokens = new Map<string, Token>();

  constructor(
    private readonly credentials: Credentials | undefined,
    private readonly caFiles: readonly string[],
    private readonly allowHttpRealm: boolean,
    readonly what: string,
  ) {}

  /** The header for a request needing `scope`, or undefined when none is known to be needed. */
  async header(scope: string): Promise<string | undefined> {
    if (this.credentials?.registryToken) return `Bearer ${this.credentials.registryToken}`;
    if (!this.challenge) return undefined;
    if (this.challenge.scheme === 'basic') {
      if (!this.credentials?.username && !this.credentials?.password) return undefined;
      return basic(this.credentials);
    }
    if (this.challenge.scheme !== 'bearer') return undefined;
    const cached = this.tokens.get(scope);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.value}`;
    const token = await fetchToken({ challenge: this.challenge, scope, credentials: this.credentials, caFiles: this.caFiles, allowHttpRealm: this.allowHttpRealm });
    this.tokens.set(scope, token);
    return `Bearer ${token.value}`;
  }

  /**
   * Takes in a 401's challenge. True when retrying may help (a new scheme, or a token that
   * was refused); false when the same credentials were already refused.
   */
  onUnauthorized(header: string | undefined, scope: string, usedHeader: string | undefined): boolean {
    const challenge = header ? parseChallenge(header) : undefined;
    if (!challenge) return false;
    if (usedHeader === undefined) {
      this.challenge = challenge;
      return challenge.scheme === 'bearer' || (challenge.scheme === 'basic' && this.credentials !== undefined);
    }
    // A bearer token may have been revoked or be for a narrower scope: one fresh try.
    if (challenge.scheme === 'bearer' && this.tokens.has(scope)) {
      this.tokens.delete(scope);
      this.challenge = challenge;
      return !this.credentials?.registryToken;
    }
    return false;
  }
}
