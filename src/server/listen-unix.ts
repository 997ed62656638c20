/**
 * The CRI unix socket: bound privately, given its mode before anyone can connect, and each
 * connection handed to the gRPC server.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { logger } from '../log/logger.js';
import type { ConnectionInjector } from './grpc-server.js';

/** sun_path holds 108 bytes with the terminating NUL. */
const MAX_UNIX_PATH = 107;
/** Open connections on one socket; more are closed as they arrive. */
export const MAX_CONNECTIONS = 256;

export interface ListenUnixOptions {
  /** Permission bits for the socket file (default 0o660). */
  mode?: number;
  /** Open connections allowed at once (default MAX_CONNECTIONS). */
  maxConnections?: number;
}

/** A server that takes connections it did not accept itself (grpc-server.ts). */
export interface InjectableServer {
  createConnectionInjector(): ConnectionInjector;
}

export interface UnixListener {
  readonly path: string;
  /** Stops accepting, destroys open connections, and removes the socket file. */
  close(): Promise<void>;
}

/** Another live process listening on `socketPath`, or a non-socket there, makes this fail. */
async function assertNotInUse(socketPath: string): Promise<void> {
  let stat;
  try {
    stat = await fs.lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stat.isSocket()) throw new Error(`${socketPath} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.setTimeout(1000, () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) {
    throw Object.assign(new Error(`${socketPath} is in use by another process`), { code: 'EADDRINUSE' });
  }
}

function listen(listener: net.Server, at: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(at, () => {
      listener.off('error', reject);
      resolve();
    });
  });
}

/**
 * Serves `server` on the unix socket `socketPath`. Services must already be added.
 *
 * The socket is bound in a private 0700 directory next to `socketPath`, given its mode there and
 * only then renamed into place (replacing a stale socket), so nobody can connect while its
 * permissions are still those of the umask.
 */
export async function listenUnix(
  server: InjectableServer,
  socketPath: string,
  opts: ListenUnixOptions = {},
): Promise<UnixListener> {
  const maxConnections = opts.maxConnections ?? MAX_CONNECTIONS;
  const dir = path.dirname(socketPath);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await assertNotInUse(socketPath);

  const privateDir = await fs.mkdtemp(path.join(dir, '.sock-'));
  const bindPath = path.join(privateDir, 's');
  const injector = server.createConnectionInjector();
  const sockets = new Set<net.Socket>();
  const listener = net.createServer({ allowHalfOpen: false }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    try {
      injector.injectConnection(socket);
    } catch (err) {
      logger.warn({ err }, 'the gRPC server refused a CRI connection');
      socket.destroy();
    }
  });
  // net.Server closes connections over the limit as they are accepted and reports them here.
  listener.maxConnections = maxConnections;
  let dropped = 0;
  let droppedSince = 0;
  listener.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - droppedSince < 10_000) return; // one line per 10 s under a flood
    logger.warn({ socket: socketPath, limit: maxConnections, refused: dropped }, 'CRI connection limit reached: closing new connections');
    dropped = 0;
    droppedSince = now;
  });
  listener.on('error', (err) => logger.warn({ err, socket: socketPath }, 'CRI listener error'));

  let identity: { dev: number; ino: number };
  try {
    if (Buffer.byteLength(bindPath) > MAX_UNIX_PATH) {
      throw new Error(`socket directory ${dir} is too deep: ${bindPath} exceeds ${MAX_UNIX_PATH} bytes`);
    }
    await listen(listener, bindPath);
    await fs.chmod(bindPath, opts.mode ?? 0o660);
    const stat = await fs.lstat(bindPath);
    identity = { dev: stat.dev, ino: stat.ino };
    await fs.rename(bindPath, socketPath);
  } catch (err) {
    listener.close();
    injector.destroy();
    throw err;
  } finally {
    await fs.rm(privateDir, { recursive: true, force: true });
  }

  let closing: Promise<void> | null = null;
  return {
    path: socketPath,
    close() {
      closing ??= (async () => {
        // The listener would only unlink its bind path; the file in place is removed while it is ours.
        try {
          const stat = await fs.lstat(socketPath);
          if (stat.dev === identity.dev && stat.ino === identity.ino) await fs.unlink(socketPath);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ err, socket: socketPath }, 'could not remove the CRI socket');
        }
        await new Promise<void>((resolve) => {
          listener.close(() => resolve());
          for (const socket of sockets) socket.destroy();
          injector.destroy();
        });
      })();
      return closing;
    },
  };
}
