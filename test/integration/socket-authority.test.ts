// kubelet and crictl before Kubernetes 1.31 send the socket path as :authority; cricket accepts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
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
