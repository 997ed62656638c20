import { invalidArgument } from '../errors.js';

/**
 * Bounds on what one layer and one image may unpack to. A layer blob is small on the wire but
 * may inflate without end (a gzip of zeros, millions of empty entries); these stop it while it
 * streams, before the disk or the inode table fills. Config `[images]`, snake_case keys.
 */
export interface ImageLimits {
  /** Bytes of uncompressed tar one layer may be. */
  maxLayerUnpackedBytes: number;
  /** Entries (files, directories, links, whiteouts) one layer may have. */
  maxLayerFiles: number;
  /** Bytes of uncompressed tar all layers of one image may be together. */
  maxImageUnpackedBytes: number;
  /** Entries all layers of one image may have together. */
  maxImageFiles: number;
}

const GiB = 1024 * 1024 * 1024;

export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxLayerUnpackedBytes: 16 * GiB,
  maxLayerFiles: 1_000_000,
  maxImageUnpackedBytes: 32 * GiB,
  maxImageFiles: 2_000_000,
});

/** Config key of each limit, for messages that tell the operator what to raise. */
export const LIMIT_KEYS: Readonly<Record<keyof ImageLimits, string>> = Object.freeze({
  maxLayerUnpackedBytes: 'images.max_layer_unpacked_bytes',
  maxLayerFiles: 'images.max_layer_files',
  maxImageUnpackedBytes: 'images.max_image_unpacked_bytes',
  maxImageFiles: 'images.max_image_files',
});

/** What the layers of one image have unpacked so far (shared by layers unpacked side by side). */
export interface ImageTally {
  bytes: number;
  files: number;
}

/** Counts a layer's unpacked bytes and entries against its own limits and its image's. */
export class UnpackBudget {
  bytes = 0;
  files = 0;

  constructor(
    private readonly limits: ImageLimits,
    private readonly image: ImageTally = { bytes: 0, files: 0 },
  ) {}

  addBytes(n: number): void {
    this.bytes += n;
    this.image.bytes += n;
    if (this.bytes > this.limits.maxLayerUnpackedBytes) throw over('layer unpacks to more than', this.limits.maxLayerUnpackedBytes, 'bytes', 'maxLayerUnpackedBytes');
    if (this.image.bytes > this.limits.maxImageUnpackedBytes) throw over('image unpacks to more than', this.limits.maxImageUnpackedBytes, 'bytes', 'maxImageUnpackedBytes');
  }

  addFile(): void {
    this.files++;
    this.image.files++;
    if (this.files > this.limits.maxLayerFiles) throw over('layer has more than', this.limits.maxLayerFiles, 'entries', 'maxLayerFiles');
    if (this.image.files > this.limits.maxImageFiles) throw over('image has more than', this.limits.maxImageFiles, 'entries', 'maxImageFiles');
  }
}

const over = (what: string, limit: number, unit: string, key: keyof ImageLimits) =>
  invalidArgument(`${what} ${limit} ${unit} (limit ${LIMIT_KEYS[key]})`);

/** Reads limits from the `[images]` table of the config file; unknown keys are refused. */
export function parseImageLimits(v: unknown, file: string): ImageLimits {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidArgument(`config ${file}: images must be a table`);
  const out: ImageLimits = { ...DEFAULT_IMAGE_LIMITS };
  const byKey = new Map(Object.entries(LIMIT_KEYS).map(([field, key]) => [key.slice('images.'.length), field as keyof ImageLimits]));
  for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
    const field = byKey.get(key);
    if (!field) throw invalidArgument(`config ${file}: images.${key} is not a known setting (${[...byKey.keys()].join(', ')})`);
    if (typeof value !== 'number' && typeof value !== 'bigint') throw invalidArgument(`config ${file}: images.${key} must be a number`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n <= 0) throw invalidArgument(`config ${file}: images.${key} must be a positive whole number, not ${String(value)}`);
    out[field] = n;
  }
  return out;
}
