import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { invalidArgument } from '../errors.js';

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export const isDigest = (value: string): boolean => DIGEST_RE.test(value);

/** The hex part of a sha256 digest; other algorithms are refused (we could not verify them). */
export function digestHex(digest: string, what: string): string {
  if (!DIGEST_RE.test(digest)) throw invalidArgument(`${what}: "${digest}" is not a sha256 digest`);
  return digest.slice('sha256:'.length);
}

export const sha256Digest = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/**
 * Chain ids name a layer together with everything under it: chain(L0) = diff(L0),
 * chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)). Layers are unpacked once per chain id.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    out.push(out.length === 0 ? diffId : sha256Digest(`${out[out.length - 1]} ${diffId}`));
  }
  return out;
}

/**
 * A pass-through stream that hashes and counts what flows through it. `guard` sees the running
 * total and each chunk's size before the chunk passes on; an error it throws fails the stream
 * there (a blob longer than it should be, a layer past its limits), not at the end.
 */
export class HashTap extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  constructor(
    private readonly onBytes?: (n: number) => void,
    private readonly guard?: (total: number, n: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.guard) {
      try {
        this.guard(this.bytes, chunk.length);
      } catch (err) {
        cb(err as Error);
        return;
      }
    }
    this.hash.update(chunk);
    this.onBytes?.(chunk.length);
    cb(null, chunk);
  }

  /** "sha256:<hex>"; call once, after the stream has ended. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}
