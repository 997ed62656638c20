// kubelet and crictl before Kubernetes 1.31 send the socket path as :authority; cricket accepts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { basename, join } from 'node:path';
import { useCricket } from '../harness/cricket.js';

const d = useCricket();
const SYNC = 'watch-sync';

function grpcCall(socket: string, authority: string, path: string): Promise<{ grpcStatus: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(socket) });
    session.on('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      ':authority': authority,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    let grpcStatus = '';
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('trailers', (t) => (grpcStatus = String(t['grpc-status'])));
    req.on('error', reject);
    req.on('end', () => {
      session.close();
      resolve({ grpcStatus, body: Buffer.concat(chunks) });
    });
    req.end(Buffer.from([0, 0, 0, 0, 0])); // an empty VersionRequest
  });
}

for (const authority of ['', 'localhost']) {
  test(`Version with :authority "${authority}"`, async () => {
    const res = await grpcCall(d.socket, authority, '/runtime.v1.RuntimeService/Version');
    assert.equal(res.grpcStatus, '0');
    assert.ok(res.body.includes(Buffer.from('cricket')));
  });
}

test('Version with the socket path as :authority', async () => {
  const res = await grpcCall(d.socket, d.socket, '/runtime.v1.RuntimeService/Version');
  assert.equal(res.grpcStatus, '0');
  assert.ok(res.body.includes(Buffer.from('cricket')));
});

test('the socket has mode 0660 from the moment it appears, replaces a stale one, and refuses other users', async () => {
  // SIGKILL leaves the socket file behind: a stale socket for the next start.
  await d.kill('SIGKILL');
  const stale = lstatSync(d.socket);
  assert.ok(stale.isSocket());
  // inotify reports, in order, every change of the directory's entries: the socket's arrival and
  // any later change of its attributes (a chmod after the fact shows up as 'change').
  const name = basename(d.socket);
  const events: string[] = [];
  let firstSight: { mode: number; socket: boolean } | undefined;
  let synced: (() => void) | undefined;
  const watcher = watch(d.dir, (event, file) => {
    if (file === SYNC) return synced?.();
    if (file !== name) return;
    events.push(event);
    const st = lstatSync(d.socket, { throwIfNoEntry: false });
    if (!firstSight && st && st.ino !== stale.ino) firstSight = { mode: st.mode, socket: st.isSocket() };
  });
  try {
    await d.restart();
    // A marker file written after start-up: once its event is here, every earlier one is too.
    await new Promise<void>((resolve) => {
      synced = resolve;
      writeFileSync(join(d.dir, SYNC), '');
    });
  } finally {
    watcher.close();
    rmSync(join(d.dir, SYNC), { force: true });
  }
  assert.ok(!events.includes('change'), `the socket's attributes changed after it appeared (events: ${events.join(', ')})`);
  assert.ok(firstSight, `no new socket seen (events: ${events.join(', ')})`);
  assert.ok(firstSight.socket);
  assert.equal((firstSight.mode & 0o7777).toString(8), '660');
  assert.notEqual(lstatSync(d.socket).ino, stale.ino);
  assert.equal((lstatSync(d.socket).mode & 0o7777).toString(8), '660');
  // The private directory it was bound in is gone.
  assert.deepEqual(readdirSync(d.dir).filter((f) => f.startsWith('.')), []);

  // Let others through the directory, so that only the socket's own mode stands in the way.
  const dirMode = lstatSync(d.dir).mode & 0o7777;
  chmodSync(d.dir, 0o711);
  try {
    const probe = `const fs = require('node:fs'), net = require('node:net'), p = process.argv[1];
      console.log(fs.statSync(p).isSocket());
      net.connect(p).on('connect', () => { console.log('connected'); process.exit(0); })
        .on('error', (e) => { console.log(e.code); process.exit(0); });`;
    const out = execFileSync(
      'setpriv',
      ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--', process.execPath, '-e', probe, d.socket],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(out, 'true\nEACCES\n');
  } finally {
    chmodSync(d.dir, dirMode);
  }
  const res = await grpcCall(d.socket, d.socket, '/runtime.v1.RuntimeService/Version');
  assert.equal(res.grpcStatus, '0');
});
