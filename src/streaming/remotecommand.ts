import type { Readable, Writable } from 'node:stream';
import { attachContainer } from '../container/attach.js';
import { runningContainer, startExec, type ExecProcess } from '../container/exec.js';
import { failedPrecondition } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { RuntimeContext } from '../runtime-context.js';
import {
  encodeStatus,
  exitCodeStatus,
  internalErrorStatus,
  STREAM_V1,
  STREAM_V2,
  successStatus,
  TerminalSizeDecoder,
  type Status,
  type StreamOptions,
  type TerminalSize,
} from './protocol.js';

import { relayWithBackpressure, spdyOutbound, webSocketOutbound, type Outbound } from './backpressure.js';
import { closeSpdy, replyStream, streamFinished, streamHeader, type SpdyConnection, type SpdyStream } from './spdy.js';
import { ChannelConn, WS_V4_BASE64_CHANNEL, WS_V4_CHANNEL, WS_V5_CHANNEL } from './websocket.js';

/** How long an exec with a TTY waits for the client's first terminal size before it starts. */
const INITIAL_SIZE_WAIT_MS = 500;

/** The streams of one exec or attach session, whichever transport carries them. */
export interface RemoteSession {
  stdin: Readable | null;
  stdout: Writable | null;
  stderr: Writable | null;
  resize: Readable | null;
  /** What waits on the client's connection: output is paused while it is too much. */
  outbound: Outbound;
  writeStatus(status: Status): Promise<void>;
  /** Ends the streams and closes the connection. */
  finish(): Promise<void>;
  /** Resolves when the client's connection is gone. */
  gone: Promise<void>;
}

/**
 * Waits for the client to open the SPDY streams the options call for (error, stdin, stdout,
 * stderr, and resize with a TTY from v3 on), answering each, as kubelet's waitForStreams does.
 */
export function spdySession(
  conn: SpdyConnection,
  protocol: string,
  opts: StreamOptions,
  timeoutMs: number,
): Promise<RemoteSession | undefined> {
  const supportsResize = protocol !== STREAM_V1 && protocol !== STREAM_V2;
  const json = !(protocol === STREAM_V1 || protocol === STREAM_V2 || protocol === 'v3.channel.k8s.io');
  const expected = 1 + (opts.stdin ? 1 : 0) + (opts.stdout ? 1 : 0) + (opts.stderr ? 1 : 0) + (opts.tty && supportsResize ? 1 : 0);
  const streams: Partial<Record<'error' | 'stdin' | 'stdout' | 'stderr' | 'resize', SpdyStream>> = {};
  const gone = new Promise<void>((resolve) => {
    conn.once('close', () => resolve());
    conn.socket.once('close', () => resolve());
  });
  conn.on('error', () => undefined);
  return new Promise((resolve) => {
    let received = 0;
    const timer = setTimeout(() => {
      conn.removeListener('stream', onStream);
      conn.socket.destroy();
      resolve(undefined);
    }, timeoutMs);
    const onStream = (stream: SpdyStream) => {
      stream.on('error', () => undefined);
      const type = streamHeader(stream, 'streamType');
      if (!['error', 'stdin', 'stdout', 'stderr', 'resize'].includes(type)) {
        replyStream(stream);
        return;
      }
      replyStream(stream);
      streams[type as keyof typeof streams] = stream;
      if (++received < expected) return;
      clearTimeout(timer);
      conn.removeListener('stream', onStream);
      const error = streams.error;
      resolve({
        stdin: streams.stdin ?? null,
        stdout: streams.stdout ?? null,
        stderr: streams.stderr ?? null,
        resize: streams.resize ?? null,
        outbound: spdyOutbound(conn),
        gone,
        async writeStatus(status) {
          const data = encodeStatus(status, json);
          if (error && data && error.writable) error.write(data);
        },
        async finish() {
          const ours = [streams.stdout, streams.stderr, streams.error, streams.stdin, streams.resize].filter((s): s is SpdyStream => !!s);
          for (const s of ours) if (!s.writableEnded) s.end();
          await closeSpdy(conn, ours.map(streamFinished));
        },
      });
    };
    conn.on('stream', onStream);
    // gone never rejects and this callback cannot throw: no catch needed.
    void gone.then(() => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

/**
 * The WebSocket variant (kubelet's remotecommand/websocket.go): channels 0 stdin, 1 stdout,
 * 2 stderr, 3 error, 4 resize; an empty message on the first writable channel tells the
 * client the session is open. v5 adds the client's close of a channel (stdin's end).
 */
export function webSocketSession(conn: ChannelConn, opts: StreamOptions): RemoteSession {
  const json = [WS_V4_CHANNEL, WS_V4_BASE64_CHANNEL, WS_V5_CHANNEL].includes(conn.protocol);
  const first = opts.stdout ? 1 : opts.stderr ? 2 : 3;
  conn.send(first, Buffer.alloc(0));
  return {
    stdin: opts.stdin ? conn.readers[0]! : null,
    stdout: opts.stdout ? conn.writer(1) : null,
    stderr: opts.stderr ? conn.writer(2) : null,
    resize: conn.readers[4] ?? null,
    outbound: webSocketOutbound(conn.ws),
    gone: conn.closed,
    writeStatus(status) {
      const data = encodeStatus(status, json);
      if (!data) return Promise.resolve();
      return new Promise((resolve) => conn.send(3, data, () => resolve()));
    },
    async finish() {
      conn.close();
    },
  };
}

/**
 * Terminal sizes from the client's resize stream. The first one matters most: a command that
 * asks for its terminal's size at once must not see 0x0, so exec waits briefly for it and
 * creates the terminal with that size.
 */
class ResizeFeed {
  private latest: TerminalSize | undefined;
  private consumer: ((width: number, height: number) => void) | undefined;
  private readonly waiters: ((size: TerminalSize) => void)[] = [];

  constructor(resize: Readable | null) {
    if (!resize) return;
    const decoder = new TerminalSizeDecoder();
    resize.on('data', (chunk: Buffer) => {
      for (const size of decoder.push(chunk)) {
        this.latest = size;
        for (const w of this.waiters.splice(0)) w(size);
        this.consumer?.(size.width, size.height);
      }
    });
    resize.on('error', () => undefined);
  }

  /** The first size, if the client sends one within `timeoutMs`. */
  first(timeoutMs: number): Promise<TerminalSize | undefined> {
    if (this.latest) return Promise.resolve(this.latest);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.waiters.push((size) => {
        clearTimeout(timer);
        resolve(size);
      });
    });
  }

  /** Sends every later size to `apply`, starting with any that came after `initial`. */
  follow(apply: (width: number, height: number) => void, initial?: TerminalSize): void {
    this.consumer = apply;
    const latest = this.latest;
    if (latest && (latest.width !== initial?.width || latest.height !== initial?.height)) apply(latest.width, latest.height);
  }
}

/**
 * The container of an exec or attach, checked when the client connects (its token may have been
 * issued before the container or its pod stopped): running, in a ready pod.
 */
function checkTarget(ctx: RuntimeContext, containerId: string): void {
  const record = runningContainer(ctx, containerId);
  const sandbox = ctx.sandboxes.find(record.sandboxId);
  if (!sandbox || sandbox.state !== 'ready') {
    throw failedPrecondition(`pod sandbox ${record.sandboxId} of container ${record.id} is not ready (${sandbox?.state ?? 'removed'})`);
  }
}

function feedStdin(session: RemoteSession, stdin: Writable | null): void {
  if (!session.stdin) return;
  if (!stdin) {
    session.stdin.resume();
    return;
  }
  session.stdin.pipe(stdin);
  session.stdin.on('error', () => stdin.end());
}

function withTimeout(p: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())]);
}

/** Runs an exec session: the command's stdio over the session, then its status. */
export async function serveExec(
  ctx: RuntimeContext,
  session: RemoteSession,
  containerId: string,
  cmd: string[],
  opts: StreamOptions,
  log: Logger,
): Promise<void> {
  const sizes = new ResizeFeed(session.resize);
  const initialSize = opts.tty && session.resize ? await sizes.first(INITIAL_SIZE_WAIT_MS) : undefined;
  let proc: ExecProcess;
  try {
    checkTarget(ctx, containerId);
    proc = await startExec(ctx, containerId, cmd, { tty: opts.tty, stdin: opts.stdin, size: initialSize });
  } catch (err) {
    await session.writeStatus(internalErrorStatus(`error executing command in container: ${(err as Error).message}`));
    await session.finish();
    return;
  }
  feedStdin(session, proc.stdin);
  sizes.follow((w, h) => proc.resize(w, h), initialSize);
  const outputs = [
    relayWithBackpressure(proc.stdout, session.stdout, session.outbound),
    proc.stderr ? relayWithBackpressure(proc.stderr, session.stderr, session.outbound) : Promise.resolve(),
  ];
  let clientGone = false;
  void session.gone
    .then(() => {
      clientGone = true;
      log.debug({ exec: proc.id }, 'client gone: killing the exec process');
      proc.kill('SIGKILL');
      // Paused output would hold a relay blocked on a full pipe: let it see the pipe close.
      proc.stdout.destroy();
      proc.stderr?.destroy();
    })
    .catch((err: unknown) => log.warn({ exec: proc.id, err }, 'killing the exec process of a gone client failed'));
  let status: Status;
  try {
    const code = await proc.exited;
    status = code === 0 ? successStatus() : exitCodeStatus(cmd, code);
    log.info({ exec: proc.id, exitCode: code, tty: opts.tty }, 'exec session ended');
  } catch (err) {
    status = internalErrorStatus(`error executing command in container: ${(err as Error).message}`);
  }
  if (clientGone) return;
  // What the process wrote before it ended; a child of it may hold the pipes: not for long.
  await withTimeout(Promise.all(outputs), 2000);
  await session.writeStatus(status);
  await session.finish();
}

/** Runs an attach session: conmon's stdio of the container over the session. */
export async function serveAttach(
  ctx: RuntimeContext,
  session: RemoteSession,
  containerId: string,
  opts: StreamOptions,
  log: Logger,
): Promise<void> {
  let attach: Awaited<ReturnType<typeof attachContainer>>;
  try {
    checkTarget(ctx, containerId);
    attach = await attachContainer(ctx, containerId, { stdin: opts.stdin, tty: opts.tty });
  } catch (err) {
    await session.writeStatus(internalErrorStatus(`error attaching to container: ${(err as Error).message}`));
    await session.finish();
    return;
  }
  feedStdin(session, attach.stdin);
  new ResizeFeed(session.resize).follow((w, h) => attach.resize(w, h));
  const outputs = [
    relayWithBackpressure(attach.stdout, session.stdout, session.outbound),
    relayWithBackpressure(attach.stderr, session.stderr, session.outbound),
  ];
  let clientGone = false;
  await Promise.race([
    attach.done,
    session.gone.then(() => {
      clientGone = true;
    }),
  ]);
  attach.close();
  log.info({ tty: opts.tty, clientGone }, 'attach session ended');
  if (clientGone) return;
  await withTimeout(Promise.all(outputs), 2000);
  await session.writeStatus(successStatus());
  await session.finish();
}
