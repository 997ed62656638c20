import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { failedPrecondition, invalidArgument, notFound } from '../errors.js';
import type { AttachRequest, ExecRequest, PortForwardRequest } from '../gen/runtime/v1/api.js';
import { logger } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import { runningContainer } from '../container/exec.js';
import type { StreamOptions } from './protocol.js';
import type { RemoteSession } from './remotecommand.js';
import { RequestCache } from './tokens.js';
import type { ChannelKind } from './websocket.js';

/**
 * The protocol machinery (ws, spdy-transport and the sessions on top) is loaded at the first
 * upgrade: most nodes never exec, and it would otherwise sit in the daemon's memory from start.
 */
const protocols = () => import('./sessions.js');

type Cached =
  | { kind: 'exec'; containerId: string; cmd: string[]; opts: StreamOptions }
  | { kind: 'attach'; containerId: string; opts: StreamOptions }
  | { kind: 'portforward'; sandboxId: string; ports: number[] };

export interface StreamingOptions {
  address: string;
  port: number;
  /** How long a token is good for (kubelet: 1 minute). */
  tokenTtlMs?: number;
  /** How long a SPDY client may take to open its streams (kubelet: 30 s). */
  streamCreationTimeoutMs?: number;
  /** A connection with no traffic for this long is closed (kubelet: 4 h). */
  idleTimeoutMs?: number;
  /** A connection must have sent its whole upgrade request within this time. */
  handshakeTimeoutMs?: number;
  /** Sessions (upgraded connections) at once; more are refused until one ends. */
  maxSessions?: number;
  /** Connections at once, upgraded or not. */
  maxConnections?: number;
}

/** A request's headers are a few hundred bytes; anything near this is not a streaming client. */
const MAX_HEADER_BYTES = 16 * 1024;


function validateStreams(req: { containerId: string; stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }, what: string): void {
  if (!req.containerId) throw invalidArgument('missing required container_id');
  if (req.tty && req.stderr) throw invalidArgument('tty and stderr cannot both be true');
  if (!req.stdin && !req.stdout && !req.stderr) throw invalidArgument(`one of stdin, stdout, or stderr must be set for ${what}`);
}

/**
 * cricket's streaming server: Exec, Attach and PortForward return a URL of this server with a
 * one-shot token; kubelet (or crictl) connects there and upgrades to SPDY/3.1 or WebSocket.
 * Paths as kubelet's: /exec/{token}, /attach/{token}, /portforward/{token}.
 */
export class StreamingServer {
  private readonly server: Server;
  private readonly cache: RequestCache<Cached>;
  private readonly sockets = new Set<Socket | Duplex>();
  private sessions = 0;
  private baseUrl = '';
  private readonly log = logger.child({ component: 'streaming' });

  constructor(
    private readonly ctx: RuntimeContext,
    private readonly opts: StreamingOptions,
  ) {
    this.cache = new RequestCache<Cached>(opts.tokenTtlMs ?? 60_000);
    const handshakeMs = opts.handshakeTimeoutMs ?? 10_000;
    // Sessions live long after their request: only the request itself has a deadline.
    this.server = createServer(
      { requestTimeout: 0, headersTimeout: handshakeMs, maxHeaderSize: MAX_HEADER_BYTES },
      (req, res) => this.onRequest(req, res),
    );
    this.server.maxConnections = opts.maxConnections ?? 1024;
    const handshakes = new WeakMap<Socket | Duplex, NodeJS.Timeout>();
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      clearTimeout(handshakes.get(socket));
      this.track(socket);
      const limit = opts.maxSessions ?? 256;
      if (this.sessions >= limit) {
        // Refused before the token is used: the client may try again with it.
        this.log.warn({ sessions: this.sessions, limit }, 'streaming session refused: too many sessions');
        socket.on('error', () => undefined);
        const body = `too many streaming sessions (${limit})\n`;
        socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
        return;
      }
      this.sessions++;
      let counted = true;
      const release = () => {
        if (counted) this.sessions--;
        counted = false;
      };
      socket.once('close', release);
      this.onUpgrade(req, socket, head)
        .catch((err: Error) => {
          this.log.warn({ err: err.message, url: req.url }, 'streaming request failed');
          socket.destroy();
        })
        .finally(release);
    });
    // After listen, an error of the server (EMFILE on accept) must not end the daemon.
    this.server.on('error', (err) => this.log.error({ err }, 'streaming server error'));
    this.server.on('connection', (socket: Socket) => {
      this.track(socket);
      socket.setTimeout(opts.idleTimeoutMs ?? 4 * 3600_000, () => socket.destroy());
      // A connection that never finishes its upgrade request is closed: Node's headersTimeout
      // alone is checked only every 30 s and not for a request that never starts.
      const timer = setTimeout(() => {
        this.log.info({ remote: socket.remoteAddress, ms: handshakeMs }, 'streaming connection closed: no upgrade in time');
        socket.destroy();
      }, handshakeMs);
      timer.unref();
      handshakes.set(socket, timer);
      socket.once('close', () => clearTimeout(timer));
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // Oversized or malformed requests: answer as Node would, without a stack in the log.
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    });
  }

  private track(socket: Socket | Duplex): void {
    if (this.sockets.has(socket)) return;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.address, () => {
        this.server.removeListener('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
    this.baseUrl = `http://${host}:${address.port}`;
    this.log.info({ url: this.baseUrl }, 'streaming server listening');
  }

  get url(): string {
    return this.baseUrl;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  /** Exec: a URL for the session; the container must be running now. */
  getExec(req: ExecRequest): string {
    validateStreams(req, 'exec');
    if (req.cmd.length === 0 || !req.cmd[0]) throw invalidArgument('cmd is required');
    const record = runningContainer(this.ctx, req.containerId);
    const token = this.cache.insert({
      kind: 'exec',
      containerId: record.id,
      cmd: [...req.cmd],
      opts: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, tty: req.tty },
    });
    return `${this.baseUrl}/exec/${token}`;
  }

  getAttach(req: AttachRequest): string {
    validateStreams(req, 'attach');
    const record = runningContainer(this.ctx, req.containerId);
    const token = this.cache.insert({
      kind: 'attach',
      containerId: record.id,
      opts: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, tty: req.tty },
    });
    return `${this.baseUrl}/attach/${token}`;
  }

  getPortForward(req: PortForwardRequest): string {
    if (!req.podSandboxId) throw invalidArgument('missing required pod_sandbox_id');
    const sandbox = this.ctx.sandboxes.find(req.podSandboxId);
    if (!sandbox) throw notFound(`pod sandbox ${req.podSandboxId} not found`);
    if (sandbox.state !== 'ready') throw failedPrecondition(`pod sandbox ${sandbox.id} is not ready (${sandbox.state})`);
    for (const p of req.port) if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalidArgument(`invalid port ${p}`);
    const token = this.cache.insert({ kind: 'portforward', sandboxId: sandbox.id, ports: [...req.port] });
    return `${this.baseUrl}/portforward/${token}`;
  }

  private lookup(req: IncomingMessage): Cached | undefined {
    const path = new URL(req.url ?? '/', 'http://streaming').pathname;
    const match = /^\/(exec|attach|portforward)\/([^/]+)$/.exec(path);
    if (!match) return undefined;
    const cached = this.cache.consume(match[2]!);
    return cached && cached.kind === match[1] ? cached : undefined;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const cached = req.method === 'GET' || req.method === 'POST' ? this.lookup(req) : undefined;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Connection', 'close');
    if (!cached) {
      res.writeHead(404).end('404 page not found\n');
      return;
    }
    res.writeHead(400).end('unable to upgrade: missing upgrade headers in request\n');
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    const {
      acceptSpdy, acceptWebSocket, ChannelConn, createWebSocketStream, isWebSocketUpgrade, rejectSocket, serveAttach, serveExec,
      serveSpdyPortForward, serveWebSocketPortForward, spdyConnection, spdySession, webSocketOutbound, webSocketSession,
      PORTFORWARD_V1, SPDY_REMOTECOMMAND_PROTOCOLS, STREAM_V1, WS_PORTFORWARD_PROTOCOLS, WS_REMOTECOMMAND_PROTOCOLS, WS_SPDY_TUNNEL_PREFIX,
    } = await protocols();
    const cached = req.method === 'GET' || req.method === 'POST' ? this.lookup(req) : undefined;
    if (!cached) {
      rejectSocket(socket, 404, 'Not Found', '404 page not found');
      return;
    }
    const creationTimeout = this.opts.streamCreationTimeoutMs ?? 30_000;
    if (cached.kind === 'portforward') {
      const sandbox = this.ctx.sandboxes.find(cached.sandboxId);
      if (!sandbox) {
        rejectSocket(socket, 404, 'Not Found', `pod sandbox ${cached.sandboxId} not found`);
        return;
      }
      // Whether the pod is still ready, and how its network is reached, is decided for each
      // forwarded connection (pod-port.ts), not here: a session outlives this moment.
      const target = { ctx: this.ctx, sandboxId: sandbox.id, log: this.log.child({ pod: sandbox.id }) };
      if (isWebSocketUpgrade(req)) {
        const accepted = await acceptWebSocket(req, socket, head, WS_PORTFORWARD_PROTOCOLS);
        if (!accepted) return;
        if (accepted.protocol.startsWith(WS_SPDY_TUNNEL_PREFIX)) {
          // SPDY tunnelled in WebSocket binary messages (Kubernetes 1.30+ port-forward).
          const tunnel = createWebSocketStream(accepted.ws);
          tunnel.on('error', () => undefined);
          this.track(tunnel);
          await serveSpdyPortForward(spdyConnection(tunnel, true), target, creationTimeout, webSocketOutbound(accepted.ws));
          return;
        }
        const ports = cached.ports.length > 0 ? cached.ports : portsFromQuery(req);
        if (ports.length === 0) {
          accepted.ws.close(1008, 'query parameter "port" is required');
          return;
        }
        const kinds: ChannelKind[] = ports.flatMap(() => ['readwrite', 'write'] as ChannelKind[]);
        await serveWebSocketPortForward(new ChannelConn(accepted.ws, accepted.protocol, kinds), target, ports);
        return;
      }
      const accepted = acceptSpdy(req, socket, head, [PORTFORWARD_V1]);
      if (!accepted) return;
      await serveSpdyPortForward(accepted.conn, target, creationTimeout);
      return;
    }

    const log = this.log.child({ container: cached.containerId, kind: cached.kind });
    let session: RemoteSession | undefined;
    if (isWebSocketUpgrade(req)) {
      const accepted = await acceptWebSocket(req, socket, head, WS_REMOTECOMMAND_PROTOCOLS);
      if (!accepted) return;
      const kinds: ChannelKind[] = [
        cached.opts.stdin ? 'read' : 'ignore',
        cached.opts.stdout ? 'write' : 'ignore',
        cached.opts.stderr ? 'write' : 'ignore',
        'write',
        'read',
      ];
      session = webSocketSession(new ChannelConn(accepted.ws, accepted.protocol, kinds), cached.opts);
      log.debug({ protocol: accepted.protocol, transport: 'websocket' }, 'streaming session open');
    } else {
      const accepted = acceptSpdy(req, socket, head, SPDY_REMOTECOMMAND_PROTOCOLS, STREAM_V1);
      if (!accepted) return;
      session = await spdySession(accepted.conn, accepted.protocol, cached.opts, creationTimeout);
      if (!session) {
        log.info({ protocol: accepted.protocol }, 'client did not open its streams');
        return;
      }
      log.debug({ protocol: accepted.protocol, transport: 'spdy' }, 'streaming session open');
    }
    if (cached.kind === 'exec') await serveExec(this.ctx, session, cached.containerId, cached.cmd, cached.opts, log);
    else await serveAttach(this.ctx, session, cached.containerId, cached.opts, log);
  }
}

function portsFromQuery(req: IncomingMessage): number[] {
  const params = new URL(req.url ?? '/', 'http://streaming').searchParams.getAll('port');
  return params.flatMap((p) => p.split(',')).map(Number).filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
}
