import type { Readable, Writable } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * How many bytes may wait for a client before the source is paused. The pause reaches the
 * producer through the kernel: a paused pipe or socket fills, and the process writing to it
 * (the exec'd command, cricket-io relaying conmon's attach socket or a pod's TCP connection)
 * blocks, so a client that stops reading costs this much memory and no more.
 */
export const HIGH_WATER_MARK = 1 << 20;
/** How often a paused relay looks again when no drain event tells it to. */
const RECHECK_MS = 100;

/** What is queued on a client's connection, below the protocol's own streams. */
export interface Outbound {
  /** Bytes accepted but not yet handed to the kernel (socket buffers and framing queues). */
  buffered(): number;
  /** Emitters whose 'drain' may mean room again. */
  readonly drainers: NodeJS.EventEmitter[];
}

/**
 * Every paused relay of a session (one per forwarded connection, say) waits for the same
 * socket's 'drain': that many listeners are expected, not a leak.
 */
function shared(emitter: NodeJS.EventEmitter): NodeJS.EventEmitter {
  emitter.setMaxListeners(0);
  return emitter;
}

/** A WebSocket's queue: ws's sender plus its socket. */
export function webSocketOutbound(ws: WebSocket): Outbound {
  const socket = (ws as unknown as { _socket?: NodeJS.EventEmitter })._socket;
  return { buffered: () => ws.bufferedAmount, drainers: socket ? [shared(socket)] : [] };
}

interface Measurable {
  writableLength?: number;
  readableLength?: number;
  _readableState?: { length: number };
}

/**
 * A SPDY session's queue: its framer (a readable piped into the socket, which grows without
 * bound when the socket cannot take more, since spdy-transport calls a stream's write back as
 * soon as the frame is queued) plus the socket, plus what lies below when the socket is a
 * WebSocket tunnel.
 */
export function spdyOutbound(conn: { socket: NodeJS.EventEmitter; _spdyState: unknown }, below?: Outbound): Outbound {
  const framer = (conn._spdyState as { framer?: Measurable }).framer;
  const socket = conn.socket as NodeJS.EventEmitter & Measurable;
  return {
    buffered: () => (framer?._readableState?.length ?? framer?.readableLength ?? 0) + (socket.writableLength ?? 0) + (below?.buffered() ?? 0),
    drainers: [shared(socket), ...(below?.drainers ?? [])],
  };
}

/**
 * Copies `source` into `destination` (without ending it), pausing the source while the
 * destination or the connection under it holds more than HIGH_WATER_MARK. Resolves when the
 * source has ended, failed or closed.
 */
export function relayWithBackpressure(source: Readable, destination: Writable | null, outbound: Outbound): Promise<void> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const listeners: [NodeJS.EventEmitter, () => void][] = [];
    const stopWaiting = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const [emitter, listener] of listeners.splice(0)) emitter.removeListener('drain', listener);
    };
    const settle = () => {
      if (settled) return;
      settled = true;
      stopWaiting();
      resolve();
    };
    source.once('end', settle);
    source.once('close', settle);
    source.once('error', settle);
    if (!destination) {
      source.resume();
      return;
    }
    const full = () => !destination.destroyed && (destination.writableNeedDrain || outbound.buffered() > HIGH_WATER_MARK);
    const recheck = () => {
      stopWaiting();
      if (settled) return;
      if (full()) wait();
      else source.resume();
    };
    const wait = () => {
      source.pause();
      for (const emitter of [destination, ...outbound.drainers]) {
        emitter.once('drain', recheck);
        listeners.push([emitter, recheck]);
      }
      timer = setTimeout(recheck, RECHECK_MS);
    };
    source.on('data', (chunk: Buffer) => {
      if (destination.destroyed || destination.writableEnded) return;
      destination.write(chunk);
      if (!timer && full()) wait();
    });
  });
}
