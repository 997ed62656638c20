import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { invalidArgument } from '../errors.js';
import { findProgram } from '../process/find-program.js';

export type Compression = 'gzip' | 'zstd' | 'none';

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** What a blob's first bytes say it is. */
export function compressionOf(head: Buffer): Compression {
  const starts = (magic: number[]) => head.length >= magic.length && magic.every((b, i) => head[i] === b);
  return starts(GZIP_MAGIC) ? 'gzip' : starts(ZSTD_MAGIC) ? 'zstd' : 'none';
}

/**
 * Reads the first bytes of a stream to tell its compression, and gives back an iterable of the
 * whole stream (those bytes included).
 */
export async function peekCompression(stream: Readable): Promise<{ compression: Compression; body: AsyncIterable<Buffer> }> {
  const it = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < 4) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    length += r.value.length;
  }
  const first = Buffer.concat(head);
  async function* body(): AsyncGenerator<Buffer> {
    try {
      if (first.length > 0) yield first;
      while (!done) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await it.return?.();
    }
  }
  return { compression: compressionOf(first), body: body() };
}

let zstdPath: string | undefined;

/**
 * A pipeline stage decompressing zstd with Debian's `zstd` (Node 20 has no zstd): the input is
 * fed to its stdin while its stdout is yielded. A failing zstd is an error naming its stderr;
 * the process is killed whenever the pipeline stops early.
 */
export async function* zstdDecompress(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  zstdPath ??= findProgram('zstd');
  const child = spawn(zstdPath, ['-d', '-c', '-q', '--no-progress'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => {
    stderr = (stderr + c).slice(-2000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let feedError: unknown;
  const feeding = pipeline(source, child.stdin).catch((err: unknown) => {
    feedError = err;
    child.stdout.destroy();
  });
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) yield chunk;
    await feeding;
    const { code, signal, error } = await exited;
    if (feedError !== undefined && (feedError as NodeJS.ErrnoException).code !== 'EPIPE') throw feedError;
    if (error) throw error;
    if (code !== 0) throw invalidArgument(`zstd decompression failed (${code ?? signal}): ${stderr.trim() || 'no message'}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child.stdin.destroy();
    child.stdout.destroy();
  }
}

/** The decompression stages for a pipeline (none for an uncompressed stream). */
export function decompressStages(c: Compression): Array<NodeJS.ReadWriteStream | ((s: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>)> {
  if (c === 'gzip') return [createGunzip()];
  if (c === 'zstd') return [zstdDecompress];
  return [];
}
