// Client side of Kubernetes' remote command protocol over WebSocket (v5/v4.channel.k8s.io), for
// the URL the daemon's Exec returns: one byte of channel then data; 0 stdin, 1 stdout, 2 stderr,
// 3 a JSON status with the exit code, 4 terminal size; v5's [255, 0] closes stdin.
import { WebSocket } from 'ws';

export interface RemoteCommandIO {
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => void };
  stdout: NodeJS.WritableStream & { columns?: number; rows?: number; on?: (e: 'resize', f: () => void) => unknown };
  stderr: NodeJS.WritableStream;
  tty: boolean;
}

interface Status {
  status?: string;
  message?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

const MAX_STATUS = 64 * 1024;

/** Runs the session to its end; resolves with the remote command's exit code. */
export function remoteCommand(url: string, io: RemoteCommandIO): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), ['v5.channel.k8s.io', 'v4.channel.k8s.io'], { perMessageDeflate: false, handshakeTimeout: 30_000 });
    let status = '';
    let settled = false;
    const cleanups: (() => void)[] = [];
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      for (const c of cleanups) c();
      fn();
    };
    const send = (channel: number, data: Buffer) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), data]));
    };
    ws.on('open', () => {
      if (io.tty) {
        const resize = () => send(4, Buffer.from(JSON.stringify({ Width: io.stdout.columns ?? 80, Height: io.stdout.rows ?? 24 })));
        resize();
        io.stdout.on?.('resize', resize);
      }
      if (io.stdin) {
        const stdin = io.stdin;
        if (io.tty && stdin.isTTY && stdin.setRawMode) {
          stdin.setRawMode(true);
          cleanups.push(() => stdin.setRawMode!(false));
        }
        const onData = (chunk: Buffer) => send(0, chunk);
        const onEnd = () => {
          if (ws.protocol === 'v5.channel.k8s.io') ws.send(Buffer.from([255, 0]));
        };
        stdin.on('data', onData);
        stdin.on('end', onEnd);
        cleanups.push(() => {
          stdin.removeListener('data', onData);
          stdin.removeListener('end', onEnd);
          (stdin as NodeJS.ReadableStream & { pause(): void }).pause();
        });
      }
    });
    ws.on('message', (data: Buffer) => {
      if (!data.length) return;
      const payload = data.subarray(1);
      switch (data[0]) {
        case 1:
          io.stdout.write(payload);
          break;
        case 2:
          io.stderr.write(payload);
          break;
        case 3:
          if (status.length + payload.length <= MAX_STATUS) status += payload.toString();
          break;
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString().slice(0, 4096)));
      res.on('end', () => finish(() => reject(new Error(`the streaming server refused the session: ${res.statusCode} ${body.trim()}`))));
    });
    ws.on('error', (err) => finish(() => reject(err)));
    ws.on('close', () => finish(() => resolve(exitCodeOf(status, io.stderr))));
  });
}

function exitCodeOf(text: string, stderr: NodeJS.WritableStream): number {
  if (!text.trim()) return 0;
  let s: Status;
  try {
    s = JSON.parse(text) as Status;
  } catch {
    stderr.write(`${text.trim()}\n`);
    return 1;
  }
  if (s.status === 'Success') return 0;
  const cause = s.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (cause) return Number(cause.message) || 1;
  stderr.write(`${s.message ?? 'the command failed'}\n`);
  return 1;
}
