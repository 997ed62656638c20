// Pulls from docker-registry behind htpasswd Basic auth and behind distribution's bearer-token
// auth (a token server run here): anonymous, username/password, `auth`, identity and registry
// tokens, and credentials from the config file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CricketError } from '../../src/errors.js';
import { Puller } from '../../src/image/pull.js';
import type { RegistriesConfig, RegistryHostConfig } from '../../src/image/registry-config.js';
import { ImageStore } from '../../src/image/store.js';
import { TEST_PREFIX } from '../harness/cricket.js';
import { buildImage, busyboxLayer, makeCa, startRegistry, startTokenServer, type TestCa, type TestRegistry, type TokenServer } from '../harness/registry.js';

let work: string;
let ca: TestCa;
let basicReg: TestRegistry;
let tokenReg: TestRegistry;
let tokens: TokenServer;
let n = 0;

const USERS = { alice: 'wonder land', bob: 's3cret:with:colons' };
const store = () => ImageStore.open(join(work, `store-${++n}`));
const cfg = (r: TestRegistry, extra: Partial<RegistryHostConfig> = {}): RegistriesConfig => ({ [r.host]: { mirrors: [], caFiles: [ca.caCert], insecure: false, ...extra } });
const unauthorized = (err: unknown) => err instanceof CricketError && err.kind === 'failed-precondition' && /unauthorized/i.test(err.message);
const image = buildImage([busyboxLayer()], { salt: 'auth' });

before(async () => {
  work = mkdtempSync(`${TEST_PREFIX}auth-`);
  ca = makeCa(work);
  basicReg = await startRegistry({ ca, dir: mkdtempSync(join(work, 'basic-')), auth: { htpasswd: USERS }, pushUser: { username: 'alice', password: USERS.alice } });
  tokens = await startTokenServer(work, ca, { users: USERS, publicRepos: /^public\//, refreshTokens: { 'refresh-for-bob': 'bob' } });
  tokenReg = await startRegistry({ ca, dir: mkdtempSync(join(work, 'token-')), auth: { token: tokens }, pushUser: { username: 'alice', password: USERS.alice } });
  await basicReg.push('private/app', image, 'v1');
  await tokenReg.push('private/app', image, 'v1');
  await tokenReg.push('public/app', image, 'v1');
});

after(async () => {
  await basicReg?.stop();
  await tokenReg?.stop();
  await tokens?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('Basic auth (htpasswd)', () => {
  it('the test pushes never send a blob without credentials (the registry would close the connection under it)', () => {
    assert.equal(basicReg.unauthorizedUploads(), 0);
    assert.equal(tokenReg.unauthorizedUploads(), 0);
  });

  it('refuses anonymous pulls and wrong passwords', async () => {
    await assert.rejects(new Puller(store(), cfg(basicReg)).pull(`${basicReg.host}/private/app:v1`), unauthorized);
    await assert.rejects(new Puller(store(), cfg(basicReg)).pull(`${basicReg.host}/private/app:v1`, { auth: { username: 'alice', password: 'nope' } }), unauthorized);
  });

  it('pulls with username/password, with `auth`, and with credentials from the config', async () => {
    const ref = `${basicReg.host}/private/app:v1`;
    const a = await new Puller(store(), cfg(basicReg)).pull(ref, { auth: { username: 'alice', password: USERS.alice } });
    assert.equal(a.image.id, image.configDigest);
    const b = await new Puller(store(), cfg(basicReg)).pull(ref, { auth: { auth: Buffer.from(`bob:${USERS.bob}`).toString('base64') } });
    assert.equal(b.image.id, image.configDigest);
    const c = await new Puller(store(), cfg(basicReg, { username: 'bob', password: USERS.bob })).pull(ref);
    assert.equal(c.image.id, image.configDigest);
    // Credentials kubelet gives for another registry are not sent here.
    await assert.rejects(new Puller(store(), cfg(basicReg)).pull(ref, { auth: { username: 'alice', password: USERS.alice, serverAddress: 'other.example:5000' } }), unauthorized);
  });
});

describe('bearer tokens (distribution token auth)', () => {
  it('pulls public repositories anonymously and refuses private ones', async () => {
    const before = tokens.requests.length;
    const r = await new Puller(store(), cfg(tokenReg)).pull(`${tokenReg.host}/public/app:v1`);
    assert.equal(r.image.id, image.configDigest);
    const asked = tokens.requests.slice(before);
    assert.ok(asked.length >= 1 && asked.every((q) => q.account === ''));
    assert.ok(asked[0]!.scope.includes('repository:public/app:pull'));
    await assert.rejects(new Puller(store(), cfg(tokenReg)).pull(`${tokenReg.host}/private/app:v1`), unauthorized);
  });

  it('gets tokens with username/password, reusing one token for a whole pull', async () => {
    const before = tokens.requests.length;
    const r = await new Puller(store(), cfg(tokenReg)).pull(`${tokenReg.host}/private/app:v1`, { auth: { username: 'alice', password: USERS.alice } });
    assert.equal(r.image.id, image.configDigest);
    assert.deepEqual(tokens.requests.slice(before).map((q) => q.account), ['alice']);
    await assert.rejects(new Puller(store(), cfg(tokenReg)).pull(`${tokenReg.host}/private/app:v1`, { auth: { username: 'alice', password: 'wrong' } }), unauthorized);
  });

  it('exchanges an identity token (OAuth2 refresh token) and uses a registry token as it is', async () => {
    const before = tokens.requests.length;
    const r = await new Puller(store(), cfg(tokenReg)).pull(`${tokenReg.host}/private/app:v1`, { auth: { username: '<token>', identityToken: 'refresh-for-bob' } });
    assert.equal(r.image.id, image.configDigest);
    assert.deepEqual(tokens.requests.slice(before).map((q) => [q.account, q.grant]), [['bob', 'refresh_token']]);
    await assert.rejects(new Puller(store(), cfg(tokenReg)).pull(`${tokenReg.host}/private/app:v1`, { auth: { identityToken: 'stolen' } }), unauthorized);

    const registryToken = tokens.issue('carol', [{ name: 'private/app', actions: ['pull'] }]);
    const mid = tokens.requests.length;
    const t = await new Puller(store(), cfg(tokenReg)).pull(`${tokenReg.host}/private/app:v1`, { auth: { registryToken } });
    assert.equal(t.image.id, image.configDigest);
    assert.equal(tokens.requests.length, mid, 'no token server round trip');
    const narrow = tokens.issue('carol', [{ name: 'public/app', actions: ['pull'] }]);
    await assert.rejects(new Puller(store(), cfg(tokenReg)).pull(`${tokenReg.host}/private/app:v1`, { auth: { registryToken: narrow } }), unauthorized);
  });

  it('uses credentials from the config when the request has none', async () => {
    const r = await new Puller(store(), cfg(tokenReg, { auth: Buffer.from(`alice:${USERS.alice}`).toString('base64') })).pull(`${tokenReg.host}/private/app:v1`);
    assert.equal(r.image.id, image.configDigest);
  });
});
