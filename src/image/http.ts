import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { CricketError } from '../errors.js';
import { logger } from '../log/logger.js';

/** Debian's bundle: the system CAs plus those added with update-ca-certificates. */
export const SYSTEM_CA_FILE = '/etc/ssl/certs/ca-certificates.crt';

let systemCas: string[] | undefined;

/** Node's built-in roots, the system bundle (Node does not read it by itself) and NODE_EXTRA_CA_CERTS. */
function baseCas(): string[] {
  if (systemCas === undefined) {
    systemCas = [...rootCertificates];
    try {
      systemCas.push(readFileSync(SYSTEM_CA_FILE, 'utf8'));
    } catch (err) {
      logger.warn({ file: SYSTEM_CA_FILE, err: (err as Error).message }, 'system CA bundle unreadable; using Node\'s built-in roots only');
    }
    // Node's own way of adding CAs: honoured here too, as an explicit CA list replaces Node's.
    const extra = process.env.NODE_EXTRA_CA_CERTS;
    if (extra) {
      try {
        systemCas.push(readFileSync(extra, 'utf8'));
      } catch (err) {
        logger.warn({ file: extra, err: (err as Error).message }, 'NODE_EXTRA_CA_CERTS unreadable');
      }
    }
  }
  return systemCas;
}

const agents = new Map<string, https.Agent>();
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** One keep-alive agent per set of extra CA files; the files are read when it is made. */
function httpsAgent(caFiles: readonly string[]): https.Agent {
  const key = caFiles.join('\n');
  let agent = agents.get(key);
  if (!agent) {
    const ca = [...baseCas()];
    for (const f of caFiles) {
      try {
        ca.push(readFileSync(f, 'utf8'));
      } catch (err) {
        throw new CricketError('failed-precondition', `CA file ${f} configured for a registry is unreadable: ${(err as Error).message}`);
      }
    }
    agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca });
    agents.set(key, agent);
  }
  return agent;
}

export interface HttpRequest {
  url: URL;
  method?: 'GET' | 'HEAD' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Extra CA files trusted for this request (https only). */
  caFiles?: readonly string[];
  /** Milliseconds without any network activity before the request fails. */
  idleTimeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, unread: the caller reads it, or calls `discard`. */
  body: IncomingMessage;
  discard(): void;
}

/** Network failure of a registry request: names the URL (without query) and the cause. */
export class RegistryUnreachable extends CricketError {
  constructor(url: URL, cause: Error) {
    super('internal', `${url.protocol}//${url.host}${url.pathname}: ${cause.message}`, { cause });
    this.name = 'RegistryUnreachable';
  }
}

/** One HTTP(S) request, redirects not followed. Resolves once the response headers arrived. */
export function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  const { url } = req;
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') return Promise.reject(new CricketError('invalid-argument', `unsupported URL scheme ${url.protocol}`));
  const idle = req.idleTimeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const options = {
      method: req.method ?? 'GET',
      headers: { 'user-agent': 'cricket/0.1', ...req.headers },
      agent: secure ? httpsAgent(req.caFiles ?? []) : httpAgent,
      timeout: idle,
    };
    const r = (secure ? https : http).request(url, options, (res) => {
      res.setTimeout(idle, () => res.destroy(new Error(`no data for ${idle} ms`)));
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: res,
        discard: () => {
          res.resume();
        },
      });
    });
    r.on('timeout', () => r.destroy(new Error(`no answer within ${idle} ms`)));
    r.on('error', (err) => reject(new RegistryUnreachable(url, err)));
    r.end(req.body);
  });
}

/** Reads a whole (small) body; more than `max` bytes is an error. */
export async function readBody(res: HttpResponse, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    res.body.destroy();
    throw new CricketError('invalid-argument', `${what}: ${declared} bytes is more than the ${max} allowed`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      res.body.destroy();
      throw new CricketError('invalid-argument', `${what}: more than the ${max} bytes allowed`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
