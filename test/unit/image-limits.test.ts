// The [images] table of the config file, and the counting of unpacked bytes and entries against
// a layer's and an image's limits.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { CricketError } from '../../src/errors.js';
import { DEFAULT_IMAGE_LIMITS, parseImageLimits, UnpackBudget, type ImageTally } from '../../src/image/limits.js';

const invalid = (re: RegExp) => (err: unknown) => err instanceof CricketError && err.kind === 'invalid-argument' && re.test(err.message);

describe('[images] limits in the config file', () => {
  it('has sane defaults and reads each key; refuses unknown keys and non-positive numbers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cricket-limits-unit-'));
    try {
      const file = join(dir, 'config.toml');
      writeFileSync(file, 'root = "/x"\n');
      assert.deepEqual(loadConfig({ config: file }).images, DEFAULT_IMAGE_LIMITS);
      assert.equal(DEFAULT_IMAGE_LIMITS.maxLayerUnpackedBytes, 16 * 1024 ** 3);
      assert.equal(DEFAULT_IMAGE_LIMITS.maxLayerFiles, 1_000_000);
      writeFileSync(file, '[images]\nmax_layer_unpacked_bytes = 1048576\nmax_layer_files = 10\nmax_image_unpacked_bytes = 2097152\nmax_image_files = 20\n');
      assert.deepEqual(loadConfig({ config: file }).images, { maxLayerUnpackedBytes: 1048576, maxLayerFiles: 10, maxImageUnpackedBytes: 2097152, maxImageFiles: 20 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => parseImageLimits({ max_layer_bytes: 1 }, 'c.toml'), invalid(/images\.max_layer_bytes is not a known setting/));
    assert.throws(() => parseImageLimits({ max_layer_files: 0 }, 'c.toml'), invalid(/positive whole number/));
    assert.throws(() => parseImageLimits({ max_layer_files: 1.5 }, 'c.toml'), invalid(/positive whole number/));
    assert.throws(() => parseImageLimits({ max_layer_files: '10' }, 'c.toml'), invalid(/must be a number/));
    assert.throws(() => parseImageLimits([], 'c.toml'), invalid(/must be a table/));
  });
});

describe('unpack budget', () => {
  const limits = { maxLayerUnpackedBytes: 100, maxLayerFiles: 3, maxImageUnpackedBytes: 150, maxImageFiles: 5 };

  it('fails the layer past its own limits, naming the config key', () => {
    const b = new UnpackBudget(limits);
    b.addBytes(100);
    assert.throws(() => b.addBytes(1), invalid(/layer unpacks to more than 100 bytes \(limit images\.max_layer_unpacked_bytes\)/));
    const f = new UnpackBudget(limits);
    for (let i = 0; i < 3; i++) f.addFile();
    assert.throws(() => f.addFile(), invalid(/layer has more than 3 entries \(limit images\.max_layer_files\)/));
  });

  it('counts the layers of one image together', () => {
    const tally: ImageTally = { bytes: 0, files: 0 };
    const a = new UnpackBudget(limits, tally);
    const b = new UnpackBudget(limits, tally);
    a.addBytes(80);
    assert.throws(() => b.addBytes(80), invalid(/image unpacks to more than 150 bytes \(limit images\.max_image_unpacked_bytes\)/));
    const t2: ImageTally = { bytes: 0, files: 0 };
    const c = new UnpackBudget(limits, t2);
    const d = new UnpackBudget(limits, t2);
    for (let i = 0; i < 3; i++) c.addFile();
    d.addFile();
    d.addFile();
    assert.throws(() => d.addFile(), invalid(/image has more than 5 entries/));
  });
});
