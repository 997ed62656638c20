// Registry credentials and redirects: a registry (loopback, plain HTTP, Basic auth or a fixed
// bearer token) redirects blob downloads to a "storage" server on another port, which redirects
// again within itself. The storage server must never see the registry's Authorization header,
// whatever the number of hops; redirect loops end.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CricketError } from '../../src/errors.js';
import type { Credentials } from '../../src/image/auth.js';
import { RegistryClient } from '../../src/image/registry.js';

const BLOB = Buffer.from('the content of a blob kept in storage\n');
const DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;
const USER = { username: 'kubelet', password: 'pull-secret' };
const BASIC = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`;
const TOKEN = 'registry-token-for-tests';

interface Seen { path: string; authorization?: string }

function listen(handler: http.RequestListener): Promise<{ server: http.Server; origin: string }> {
  const server = http.createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  }));
}

const close = (s: http.Server) => new Promise<void>((resolve) => {
  s.closeAllConnections();
  s.close(() => resolve());
});

let registry: { server: http.Server; origin: string };
let storage: { server: http.Server; origin: string };
const registrySeen: Seen[] = [];
const storageSeen: Seen[] = [];

before(async () => {
  storage = await listen((req, res) => {
    const path = req.url ?? '/';
    storageSeen.push({ path, authorization: req.headers.authorization });
    // Two hops inside the storage host, then the content; /loop never ends.
    if (path.startsWith('/first')) res.writeHead(307, { location: `/second?sig=abc` }).end();
    else if (path.startsWith('/second')) res.writeHead(302, { location: `${storage.origin}/blob` }).end();
    else if (path === '/blob') res.writeHead(200, { 'content-length': BLOB.length }).end(BLOB);
    else if (path.startsWith('/loop')) res.writeHead(302, { location: `/loop${path.length}` }).end();
    else res.writeHead(404).end();
  });
  registry = await listen((req, res) => {
    const path = req.url ?? '/';
    registrySeen.push({ path, authorization: req.headers.authorization });
    const authorized = req.headers.authorization === BASIC || req.headers.authorization === `Bearer ${TOKEN}`;
    if (!authorized) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="test"', 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    if (path === `/v2/apps/app/blobs/${DIGEST}`) res.writeHead(307, { location: `${storage.origin}/first` }).end();
    else if (path === `/v2/apps/loop/blobs/${DIGEST}`) res.writeHead(307, { location: `${storage.origin}/loop` }).end();
    else res.writeHead(404).end();
  });
});

after(async () => {
  await close(registry.server);
  await close(storage.server);
});

const client = (repo: string, credentials: Credentials) => new RegistryClient({
  host: registry.origin.slice('http://'.length),
  scheme: 'http',
  caFiles: [],
  credentials,
  label: 'test registry',
  mirror: false,
}, repo);

describe('redirects of a blob download', () => {
  for (const [kind, credentials, header] of [['Basic', USER, BASIC], ['Bearer', { registryToken: TOKEN }, `Bearer ${TOKEN}`]] as const) {
    it(`send ${kind} credentials to the registry only, never to a storage host, over two hops`, async () => {
      registrySeen.length = 0;
      storageSeen.length = 0;
      const bytes = await client('apps/app', credentials).blobBytes(DIGEST, BLOB.length, 1024);
      assert.deepEqual(bytes, BLOB);
      assert.ok(registrySeen.some((s) => s.authorization === header), 'the registry got the credentials');
      assert.deepEqual(storageSeen.map((s) => s.path), ['/first', '/second?sig=abc', '/blob'], 'all three storage hops were taken');
      for (const s of storageSeen) assert.equal(s.authorization, undefined, `storage saw Authorization on ${s.path}`);
    });
  }

  it('ends a redirect loop with an error after a bounded number of hops', async () => {
    storageSeen.length = 0;
    await assert.rejects(client('apps/loop', USER).blobBytes(DIGEST, BLOB.length, 1024), (err: unknown) => {
      assert.ok(err instanceof CricketError);
      assert.match(err.message, /more than \d+ redirects/);
      return true;
    });
    assert.ok(storageSeen.length > 0 && storageSeen.length <= 10, `${storageSeen.length} storage requests`);
    for (const s of storageSeen) assert.equal(s.authorization, undefined);
  });
});
