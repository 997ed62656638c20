// Wire details of Kubernetes' remotecommand protocols shared by the SPDY and WebSocket variants.

export const STREAM_V1 = 'channel.k8s.io';
export const STREAM_V2 = 'v2.channel.k8s.io';
export const STREAM_V3 = 'v3.channel.k8s.io';
export const STREAM_V4 = 'v4.channel.k8s.io';
export const STREAM_V5 = 'v5.channel.k8s.io';
/** What kubelet's streaming server offers over SPDY, preferred first. */
export const SPDY_REMOTECOMMAND_PROTOCOLS = [STREAM_V5, STREAM_V4, STREAM_V3, STREAM_V2, STREAM_V1] as const;
export const PORTFORWARD_V1 = 'portforward.k8s.io';

/** Options of an exec or attach session, as the CRI request gave them. */
export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** A metav1.Status as kubelet writes it on the error stream (field order as Go marshals it). */
export interface Status {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: { reason?: string; message?: string }[] };
  code?: number;
}

export function successStatus(): Status {
  return { metadata: {}, status: 'Success' };
}

/** The status of a command that exited non-zero (kubelet's remotecommand/exec.go). */
export function exitCodeStatus(cmd: string[], exitCode: number): Status {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${cmd.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** apierrors.NewInternalError. */
export function internalErrorStatus(message: string): Status {
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${message}`,
    reason: 'InternalError',
    details: { causes: [{ message }] },
    code: 500,
  };
}

/** v4 and later write the status as JSON; v1-v3 write only a failure's message, as text. */
export function encodeStatus(status: Status, json: boolean): Buffer | undefined {
  if (json) return Buffer.from(JSON.stringify(status));
  return status.status === 'Success' ? undefined : Buffer.from(status.message ?? 'unknown error');
}

/** remotecommand.TerminalSize as JSON: {"Width":80,"Height":24}. */
export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * Splits the resize stream, a sequence of JSON objects with no separator guaranteed (Go's
 * json.Decoder reads them back to back), into terminal sizes. Malformed objects are skipped.
 */
export class TerminalSizeDecoder {
  private buffer = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;

  push(chunk: Buffer | string): TerminalSize[] {
    const sizes: TerminalSize[] = [];
    const text = chunk.toString();
    let offset = this.buffer.length;
    this.buffer += text;
    for (; offset < this.buffer.length; offset++) {
      const ch = this.buffer[offset]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (ch === '"') this.inString = true;
      else if (ch === '{') {
        if (this.depth === 0) this.start = offset;
        this.depth++;
      } else if (ch === '}' && this.depth > 0) {
        this.depth--;
        if (this.depth === 0) {
          const size = parseSize(this.buffer.slice(this.start, offset + 1));
          if (size) sizes.push(size);
          this.buffer = this.buffer.slice(offset + 1);
          offset = -1;
          this.start = -1;
        }
      }
    }
    if (this.depth === 0) this.buffer = '';
    else if (this.buffer.length > 4096) {
      // No terminal size is that long: drop the garbage.
      this.buffer = '';
      this.depth = 0;
      this.inString = false;
    }
    return sizes;
  }
}

function parseSize(text: string): TerminalSize | undefined {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    const width = Number(value.Width ?? value.width);
    const height = Number(value.Height ?? value.height);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0 || width > 65535 || height > 65535) return undefined;
    return { width, height };
  } catch {
    return undefined;
  }
}
