// The product's "sidecar proxy" example: an app on 127.0.0.1:5000, a proxy on :80 in the same pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { useCricket } from '../harness/cricket.js';
import { containerConfig, httpGet, httpGetEventually, namespacesOf, podConfig, runPod, startContainer } from '../harness/pods.js';

const d = useCricket();

test('a proxy reaches the app over the pod-local loopback; the app port is not exposed', async () => {
  const pod = podConfig(d, 'sidecar-proxy');
  const { id: podId, ip } = await runPod(d, pod);
  const app = await startContainer(d, podId, pod, containerConfig('app', ['sh', '-c',
    'mkdir -p /tmp/www && echo Hello from the app > /tmp/www/index.html && exec httpd -f -p 127.0.0.1:5000 -h /tmp/www']));
  const proxy = await startContainer(d, podId, pod, containerConfig('proxy', ['nc', '-ll', '-p', '80', '-e', 'nc', '127.0.0.1', '5000']));

  const res = await httpGetEventually(ip, 80);
  assert.equal(res.status, 200);
  assert.equal(res.body, 'Hello from the app\n');

  await assert.rejects(httpGet(ip, 5000, 2000), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');

  const pauseNs = namespacesOf(d.runcState(podId)!.pid);
  // The daemon makes each pod's network namespace on a thread of its own, which exits: none of
  // its threads stays in a pod's namespace.
  const hostNet = readlinkSync('/proc/self/ns/net');
  assert.notEqual(pauseNs.net, hostNet);
  const threads = readdirSync(`/proc/${d.pid()}/task`);
  assert.ok(threads.length > 1);
  for (const tid of threads) assert.equal(readlinkSync(`/proc/${d.pid()}/task/${tid}/ns/net`), hostNet, `daemon thread ${tid}`);
  for (const id of [app, proxy]) {
    const ns = namespacesOf(d.runcState(id)!.pid);
    assert.equal(ns.net, pauseNs.net);
    assert.equal(ns.ipc, pauseNs.ipc);
    assert.equal(ns.uts, pauseNs.uts);
  }
});
