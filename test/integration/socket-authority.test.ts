// kubelet and crictl before Kubernetes 1.31 send the socket path as :authority; cricket accepts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { useCricket } from '../harness/cricket.js';

const d = useCricket();

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

/**
 * Spins on lstat until a socket with another inode than `staleIno` sits at `path`, and reports
 * its mode at first sight. A thread of its own, so nothing on this side delays the look.
 */
function watchForNewSocket(path: string, staleIno: number): { ready: Promise<void>; seen: Promise<{ mode: number; socket: boolean } | null>; worker: Worker } {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
    const fs = require('node:fs');
    parentPort.postMessage('ready');
    const end = Date.now() + workerData.timeoutMs;
    for (;;) {
      const st = fs.lstatSync(workerData.path, { throwIfNoEntry: false });
      if (st && st.ino !== workerData.staleIno) {
        parentPort.postMessage({ mode: st.mode, socket: st.isSocket() });
        break;
      }
      if (Date.now() > end) {
        parentPort.postMessage(null);
        break;
      }
    }`,
    { eval: true, workerData: { path, staleIno, timeoutMs: 60_000 } },
  );
  const messages: unknown[] = [];
  const waiters: Array<(m: unknown) => void> = [];
  worker.on('message', (m) => (waiters.length ? waiters.shift()!(m) : messages.push(m)));
  const next = (): Promise<unknown> => (messages.length ? Promise.resolve(messages.shift()) : new Promise((r) => waiters.push(r)));
  const ready = next().then(() => undefined);
  const seen = ready.then(next) as Promise<{ mode: number; socket: boolean } | null>;
  return { ready, seen, worker };
}

test('the socket has mode 0660 from the moment it appears, replaces a stale one, and refuses other users', async () => {
  // SIGKILL leaves the socket file behind: a stale socket for the next start.
  await d.kill('SIGKILL');
  const stale = lstatSync(d.socket);
  assert.ok(stale.isSocket());
  const watch = watchForNewSocket(d.socket, stale.ino);
  try {
    await watch.ready;
    await d.restart();
    const seen = await watch.seen;
    assert.ok(seen, 'no new socket appeared');
    assert.ok(seen.socket);
    assert.equal((seen.mode & 0o7777).toString(8), '660');
  } finally {
    await watch.worker.terminate();
  }
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
