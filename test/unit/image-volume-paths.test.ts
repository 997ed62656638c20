import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imageSubPathSegments } from '../../src/container/image-volumes.js';
import { imagesInUse } from '../../src/image/gc.js';
import { imageVolumeMounts } from '../../src/oci/spec/image-volume-mounts.js';

describe('image volumes', () => {
  it('sub paths are relative and stay inside the image', () => {
    assert.deepEqual(imageSubPathSegments(''), []);
    assert.deepEqual(imageSubPathSegments('data/./sub/'), ['data', 'sub']);
    for (const bad of ['/etc', '..', 'a/../../b', 'a/..', 'a\0b', 'x'.repeat(5000)]) {
      assert.throws(() => imageSubPathSegments(bad), (err: Error & { kind?: string }) => err.kind === 'invalid-argument', bad);
    }
  });

  it('mounted images count as in use', () => {
    const ids = imagesInUse({ all: () => [{ imageId: 'sha256:a', imageVolumeIds: ['sha256:b', 'sha256:c'] }, { imageId: 'sha256:d' }] });
    assert.deepEqual([...ids].sort(), ['sha256:a', 'sha256:b', 'sha256:c', 'sha256:d']);
  });

  it('are read-only binds without setuid or devices', () => {
    assert.deepEqual(imageVolumeMounts([{ containerPath: '/v', source: '/s' }]), [
      { destination: '/v', type: 'bind', source: '/s', options: ['rbind', 'rprivate', 'ro', 'nosuid', 'nodev'] },
    ]);
  });
});
