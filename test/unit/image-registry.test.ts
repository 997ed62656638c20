import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../../src/config/config.js';
import { CricketError } from '../../src/errors.js';
import { credentialsFrom, parseChallenge } from '../../src/image/auth.js';
import { sha256Digest } from '../../src/image/digest.js';
import { Puller, selectPlatform } from '../../src/image/pull.js';
import { parseRegistriesConfig, registryHost } from '../../src/image/registry-config.js';
import { ImageStore } from '../../src/image/store.js';
import { fileBlob, unpackLayer } from '../../src/image/unpack.js';

const repoRoot = new URL('../../../', import.meta.url);
let tar: { tarArchive(entries: Array<Record<string, unknown>>): Buffer };
let work: string;
before(async () => {
  tar = (await import(pathToFileURL(join(repoRoot.pathname, 'images/lib/tar.mjs')).href)) as typeof tar;
  work = mkdtempSync(join(tmpdir(), 'cricket-registry-unit-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

const invalid = (err: unknown) => err instanceof CricketError && err.kind === 'invalid-argument';

describe('WWW-Authenticate challenges', () => {
  it('parses bearer and basic challenges, quoted and not', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), {
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    });
    assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } });
    assert.deepEqual(parseChallenge('Bearer realm=https://x/token, service=svc'), { scheme: 'bearer', params: { realm: 'https://x/token', service: 'svc' } });
    assert.deepEqual(parseChallenge('Bearer realm="a\\"b",scope="repository:a:pull,push"'), { scheme: 'bearer', params: { realm: 'a"b', scope: 'repository:a:pull,push' } });
  });
});

describe('credentials from CRI AuthConfig', () => {
  it('reads username/password, auth, identity and registry tokens; empty is none', () => {
    assert.equal(credentialsFrom(undefined), undefined);
    assert.equal(credentialsFrom({ username: '', password: '', auth: '', identityToken: '', registryToken: '' }), undefined);
    assert.deepEqual(credentialsFrom({ username: 'u', password: 'p' }), { username: 'u', password: 'p' });
    assert.deepEqual(credentialsFrom({ auth: Buffer.from('me:pa:ss').toString('base64') }), { username: 'me', password: 'pa:ss' });
    assert.deepEqual(credentialsFrom({ identityToken: 'rt' }), { identityToken: 'rt' });
    assert.deepEqual(credentialsFrom({ registryToken: 'tok' }), { registryToken: 'tok' });
    assert.throws(() => credentialsFrom({ auth: Buffer.from('nocolon').toString('base64') }), invalid);
  });
});

describe('registries config', () => {
  it('parses mirrors, CA files, insecure and credentials; refuses what it does not know', () => {
    const cfg = parseRegistriesConfig({
      'docker.io': { mirrors: ['mirror.local:5000', 'https://m2.local'], ca_files: ['/a.pem'] },
      'mirror.local:5000': { insecure: true, username: 'u', password: 'p' },
    }, 'x.toml');
    assert.deepEqual(cfg['docker.io'], { mirrors: ['mirror.local:5000', 'https://m2.local'], caFiles: ['/a.pem'], insecure: false, username: undefined, password: undefined, auth: undefined, identityToken: undefined });
    assert.equal(cfg['mirror.local:5000']!.insecure, true);
    assert.throws(() => parseRegistriesConfig({ 'docker.io': { mirror: [] } }, 'x'), /unknown key "mirror"/);
    assert.throws(() => parseRegistriesConfig({ 'docker.io': { insecure: 'yes' } }, 'x'), /insecure/);
    assert.throws(() => parseRegistriesConfig({ 'docker.io': { mirrors: ['ftp://x'] } }, 'x'), /mirrors/);
    assert.throws(() => parseRegistriesConfig({ 'not a host': {} }, 'x'), /not a registry host/);
  });

  it('is read from the config file', () => {
    const file = join(work, 'config.toml');
    writeFileSync(file, '[registries."docker.io"]\nmirrors = ["127.0.0.1:5000"]\n[registries."127.0.0.1:5000"]\ninsecure = true\n');
    const config = loadConfig({ config: file });
    assert.deepEqual(config.registries['docker.io']!.mirrors, ['127.0.0.1:5000']);
    assert.equal(config.registries['127.0.0.1:5000']!.insecure, true);
    assert.deepEqual(loadConfig({ config: '/dev/null' }).registries, {});
  });

  it('turns registries into endpoints: mirrors first, Docker Hub at registry-1.docker.io, credentials where they belong', () => {
    assert.equal(registryHost('docker.io'), 'registry-1.docker.io');
    const store = ImageStore.open(join(work, 'endpoints-store'));
    const puller = new Puller(store, parseRegistriesConfig({
      'docker.io': { mirrors: ['mirror.local:5000', 'http://m2.local'], username: 'hub', password: 'pw' },
      'mirror.local:5000': { insecure: true, ca_files: ['/m.pem'], username: 'm', password: 'mp' },
    }, 'x'));
    const eps = puller.endpoints('docker.io');
    assert.deepEqual(eps.map((e) => [e.host, e.scheme, e.mirror]), [['mirror.local:5000', 'http', true], ['m2.local', 'http', true], ['registry-1.docker.io', 'https', false]]);
    assert.deepEqual(eps[0]!.credentials, { username: 'm', password: 'mp' });
    assert.equal(eps[1]!.credentials, undefined);
    assert.deepEqual(eps[2]!.credentials, { username: 'hub', password: 'pw' });
    const withRequest = puller.endpoints('docker.io', { username: 'k', password: 'kp', serverAddress: 'https://index.docker.io/v1/' });
    assert.deepEqual(withRequest[2]!.credentials, { username: 'k', password: 'kp' }, 'the request wins for its registry');
    assert.deepEqual(withRequest[0]!.credentials, { username: 'm', password: 'mp' }, 'a mirror gets only its own');
    assert.deepEqual(puller.endpoints('quay.io').map((e) => [e.host, e.scheme]), [['quay.io', 'https']]);
  });
});

describe('platform selection', () => {
  const d = (arch: string, extra: Record<string, string> = {}, mediaType = 'application/vnd.oci.image.manifest.v1+json') => ({
    mediaType, digest: `sha256:${arch.padEnd(64, '0').slice(0, 64).replace(/[^0-9a-f]/g, 'a')}`, size: 1, platform: { os: 'linux', architecture: arch, ...extra },
  });
  it('takes linux/amd64, not attestations or other systems', () => {
    const amd = d('amd64');
    assert.equal(selectPlatform([d('arm64', { variant: 'v8' }), amd, { ...d('amd64'), platform: { os: 'windows', architecture: 'amd64' } }]), amd);
    assert.equal(selectPlatform([{ ...d('unknown'), platform: { os: 'unknown', architecture: 'unknown' } }, d('s390x')]), undefined);
    assert.equal(selectPlatform([d('amd64', {}, 'application/vnd.in-toto+json')]), undefined);
  });
});

describe('zstd and plain layers', () => {
  it('unpacks a zstd layer with Debian\'s zstd and verifies both digests', async () => {
    const plain = tar.tarArchive([{ path: 'hello', type: 'file', mode: 0o644, data: Buffer.from('zstd works') }]);
    const blob = execFileSync('zstd', ['-q', '-c'], { input: plain });
    const path = join(work, 'layer.zst');
    writeFileSync(path, blob);
    const diffId = sha256Digest(plain);
    const dest = join(work, 'layers', 'zstd');
    const meta = await unpackLayer({ ...fileBlob(path), digest: sha256Digest(blob), size: blob.length, diffId, chainId: diffId, dest });
    assert.equal(meta.diffId, diffId);
    assert.equal(readFileSync(join(dest, 'fs', 'hello'), 'utf8'), 'zstd works');
    // A corrupt zstd stream fails with zstd's message and leaves nothing.
    const bad = Buffer.from(blob);
    bad[bad.length - 6] ^= 0xff;
    writeFileSync(path, bad);
    await assert.rejects(unpackLayer({ ...fileBlob(path), diffId, chainId: diffId, dest: join(work, 'layers', 'bad') }), invalid);
    assert.deepEqual(readdirSync(join(work, 'layers')), ['zstd']);
  });
});

describe('extended attributes', () => {
  /** A PAX extended header block for the next entry, from raw records. */
  function paxHeader(records: Array<[string, Buffer]>): Buffer {
    const body = Buffer.concat(records.map(([k, v]) => {
      const rest = Buffer.concat([Buffer.from(` ${k}=`), v, Buffer.from('\n')]);
      let len = rest.length + 1;
      while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
      return Buffer.concat([Buffer.from(String(len)), rest]);
    }));
    const entry = tar.tarArchive([{ path: 'PaxHeaders/x', type: 'file', mode: 0o644, data: body }]);
    const block = Buffer.from(entry.subarray(0, entry.length - 1024));
    block[156] = 'x'.charCodeAt(0);
    block.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of block.subarray(0, 512)) sum += b;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    return block;
  }

  it('sets user.* and security.capability from PAX headers, never trusted.*', async () => {
    const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
    const body = (entries: Array<Record<string, unknown>>) => {
      const t = tar.tarArchive(entries);
      return t.subarray(0, t.length - 1024);
    };
    const plain = Buffer.concat([
      body([{ path: 'dir/', type: 'dir', mode: 0o755 }]),
      paxHeader([['SCHILY.xattr.user.note', Buffer.from('hello')], ['SCHILY.xattr.security.capability', cap], ['SCHILY.xattr.trusted.overlay.opaque', Buffer.from('y')]]),
      body([{ path: 'dir/ping', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') }]),
      paxHeader([['SCHILY.xattr.user.dir', Buffer.from([0xff, 0x00, 0x01])]]),
      body([{ path: 'dir/sub/', type: 'dir', mode: 0o755 }]),
      body([{ path: 'plain', type: 'file', mode: 0o644, data: Buffer.from('no attributes') }]),
      Buffer.alloc(1024),
    ]);
    const path = join(work, 'xattr.tar');
    writeFileSync(path, plain);
    const diffId = sha256Digest(plain);
    const dest = join(work, 'xattr-layer');
    await unpackLayer({ ...fileBlob(path), diffId, chainId: diffId, dest });
    /** Every attribute of a file, name → hex value (getfattr -d -m - -e hex). */
    const attrs = (p: string): Record<string, string> => {
      const out = execFileSync('getfattr', ['-d', '-m', '-', '-e', 'hex', join(dest, 'fs', p)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    };
    assert.deepEqual(attrs('dir/ping'), { 'user.note': `0x${Buffer.from('hello').toString('hex')}`, 'security.capability': `0x${cap.toString('hex')}` });
    assert.deepEqual(attrs('dir/sub'), { 'user.dir': '0xff0001' });
    assert.deepEqual(attrs('plain'), {});
    assert.equal(readFileSync(join(dest, 'fs', 'plain'), 'utf8'), 'no attributes');
  });
});
