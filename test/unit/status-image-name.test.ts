import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusImageName } from '../../src/container/status-image-name.js';

const ID = `sha256:${'ab12'.repeat(16)}`;
const MANIFEST = `sha256:${'cd34'.repeat(16)}`;
const tagged = { repoTags: ['docker.io/library/nginx:1.27', 'registry.local/web:v2'], repoDigests: [`docker.io/library/nginx@${MANIFEST}`] };

test('an image asked for by id is shown by its first tag', () => {
  assert.equal(statusImageName(ID, tagged), 'docker.io/library/nginx:1.27');
  assert.equal(statusImageName(ID.slice(7, 19), tagged), 'docker.io/library/nginx:1.27', 'a prefix of the id');
  assert.equal(statusImageName(`sha256:${ID.slice(7, 19)}`, tagged), 'docker.io/library/nginx:1.27');
  assert.equal(statusImageName(MANIFEST, tagged), 'docker.io/library/nginx:1.27', 'a bare manifest digest names no repository either');
});

test('an image without tags is shown as asked for', () => {
  assert.equal(statusImageName(ID, { repoTags: [], repoDigests: [] }), ID);
});

test('a name stays as written, short or by digest', () => {
  assert.equal(statusImageName('nginx:1.27', tagged), 'nginx:1.27');
  assert.equal(statusImageName('registry.local/web:v2', tagged), 'registry.local/web:v2');
  assert.equal(statusImageName(`nginx@${MANIFEST}`, tagged), `nginx@${MANIFEST}`);
});

test('a name that looks like an id prefix is a name when the image carries it', () => {
  const named = { repoTags: ['docker.io/library/abc:latest'], repoDigests: [] };
  assert.equal(statusImageName('abc', named), 'abc');
  assert.equal(statusImageName('abc', { repoTags: ['docker.io/library/other:latest'], repoDigests: [] }), 'docker.io/library/other:latest');
});
