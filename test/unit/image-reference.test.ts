import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CricketError } from '../../src/errors.js';
import { looksLikeImageId, normalizeReference, normalizeTag, parseReference } from '../../src/image/reference.js';

const HEX = 'a'.repeat(64);

describe('image references', () => {
  it('normalises the ways people write Docker Hub images', () => {
    assert.equal(normalizeReference('busybox'), 'docker.io/library/busybox:latest');
    assert.equal(normalizeReference('busybox:1.36'), 'docker.io/library/busybox:1.36');
    assert.equal(normalizeReference('library/busybox'), 'docker.io/library/busybox:latest');
    assert.equal(normalizeReference('docker.io/busybox'), 'docker.io/library/busybox:latest');
    assert.equal(normalizeReference('index.docker.io/library/busybox:1'), 'docker.io/library/busybox:1');
    assert.equal(normalizeReference('someone/tool'), 'docker.io/someone/tool:latest');
    assert.equal(normalizeReference('  busybox  '), 'docker.io/library/busybox:latest');
  });

  it('keeps other registries, ports and localhost as domains', () => {
    assert.equal(normalizeReference('cricket.local/busybox'), 'cricket.local/busybox:latest');
    assert.equal(normalizeReference('cricket.local/pause:built-in'), 'cricket.local/pause:built-in');
    assert.equal(normalizeReference('localhost/app'), 'localhost/app:latest');
    assert.equal(normalizeReference('localhost:5000/app:v1'), 'localhost:5000/app:v1');
    assert.equal(normalizeReference('registry.k8s.io/e2e-test-images/busybox:1.29-4'), 'registry.k8s.io/e2e-test-images/busybox:1.29-4');
    const r = parseReference('127.0.0.1:5000/a/b/c:t');
    assert.deepEqual(r, { domain: '127.0.0.1:5000', path: 'a/b/c', name: '127.0.0.1:5000/a/b/c', tag: 't', digest: undefined });
  });

  it('handles digests, with and without a tag', () => {
    assert.equal(normalizeReference(`busybox@sha256:${HEX}`), `docker.io/library/busybox@sha256:${HEX}`);
    assert.equal(normalizeReference(`cricket.local/busybox:1@sha256:${HEX}`), `cricket.local/busybox@sha256:${HEX}`);
    const r = parseReference(`cricket.local/busybox:1@sha256:${HEX}`);
    assert.equal(r.tag, '1');
    assert.equal(r.digest, `sha256:${HEX}`);
    assert.equal(parseReference(`busybox@sha256:${HEX}`).tag, undefined);
  });

  it('refuses malformed references with invalid-argument', () => {
    for (const bad of ['', 'Busybox', 'busybox:', 'busybox@sha256:abc', 'busybox@md5:' + HEX, 'a//b', 'bad name', '-x', HEX, 'busybox:' + 't'.repeat(129), 'x/:tag']) {
      assert.throws(() => parseReference(bad), (err: unknown) => err instanceof CricketError && err.kind === 'invalid-argument', `expected "${bad}" to be refused`);
    }
  });

  it('normalizeTag refuses digest references', () => {
    assert.equal(normalizeTag('busybox'), 'docker.io/library/busybox:latest');
    assert.throws(() => normalizeTag(`busybox@sha256:${HEX}`), CricketError);
  });

  it('recognises what may be an image id', () => {
    assert.equal(looksLikeImageId(`sha256:${HEX}`), true);
    assert.equal(looksLikeImageId('sha256:abc1'), true);
    assert.equal(looksLikeImageId('abc123'), true);
    assert.equal(looksLikeImageId('ab'), false);
    assert.equal(looksLikeImageId('busybox'), false);
  });
});
