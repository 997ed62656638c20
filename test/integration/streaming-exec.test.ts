// Exec through the streaming server, over SPDY/3.1 and WebSocket, as kubelet and crictl use it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { status as grpcStatus } from '@grpc/grpc-js';
import { startCricket, type TestDaemon } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer, waitExited } from '../harness/pods.js';
import { askUntil, spdySession, upgrade, UpgradeError, webSocketSession } from '../client/streaming.js';
import type { Message } from '../client/cri.js';

let d: TestDaemon;
let container: string;

before(async () => {
  d = await startCricket();
  const pod = podConfig(d, 'exec-target');
  const { id } = await runPod(d, pod);
  container = await startContainer(d, id, pod, containerConfig('shell', ['sleep', '3600']));
});
after(async () => {
  await d.stop();
});

async function execUrl(cmd: string[], opts: { stdin?: boolean; stdout?: boolean; stderr?: boolean; tty?: boolean }, id = container): Promise<string> {
  const { url } = await d.cri.runtime.call<{ url: string }>('Exec', {
    container_id: id,
    cmd,
    stdin: opts.stdin ?? false,
    stdout: opts.stdout ?? true,
    stderr: opts.stderr ?? !opts.tty,
    tty: opts.tty ?? false,
  });
  return url;
}

test('Exec returns a URL of the streaming server on loopback', async () => {
  const url = await execUrl(['true'], {});
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]+$/);
});

test('exec echo over SPDY (v4): stdout and a Success status', async () => {
  const s = await spdySession(await execUrl(['echo', 'hello', 'world'], { stdout: true, stderr: true }), { stdout: true, stderr: true });
  assert.equal(s.protocol, 'v4.channel.k8s.io');
  const r = await s.done;
  assert.equal(r.stdout, 'hello world\n');
  assert.equal(r.stderr, '');
  assert.deepEqual(JSON.parse(r.error), { metadata: {}, status: 'Success' });
  assert.equal(r.exitCode, 0);
});

test('the server picks the newest protocol the client offers (v5 first)', async () => {
  const s = await spdySession(await execUrl(['echo', 'v5'], {}), { stdout: true, stderr: true }, ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
  assert.equal(s.protocol, 'v5.channel.k8s.io');
  assert.equal((await s.done).stdout, 'v5\n');
});

test('stdin round trip over SPDY: cat echoes what the client sends, stdin close ends it', async () => {
  const s = await spdySession(await execUrl(['cat'], { stdin: true }), { stdin: true, stdout: true, stderr: true });
  s.write('ping\n');
  await s.waitForStdout('ping\n');
  s.write('pong');
  s.closeStdin();
  const r = await s.done;
  assert.equal(r.stdout, 'ping\npong');
  assert.equal(r.exitCode, 0);
});

test('a failing command: stderr, exit code and the NonZeroExitCode status', async () => {
  const s = await spdySession(await execUrl(['sh', '-c', 'echo oops >&2; exit 3'], {}), { stdout: true, stderr: true });
  const r = await s.done;
  assert.equal(r.stderr, 'oops\n');
  assert.equal(r.exitCode, 3);
  assert.equal(r.status?.status, 'Failure');
  assert.equal(r.status?.reason, 'NonZeroExitCode');
  assert.deepEqual(r.status?.details?.causes, [{ reason: 'ExitCode', message: '3' }]);
  assert.match(r.status?.message ?? '', /command terminated with non-zero exit code: .*exit code 3/);
});

test('v1-v3 protocols write only a failure, as plain text', async () => {
  for (const protocol of ['channel.k8s.io', 'v2.channel.k8s.io', 'v3.channel.k8s.io']) {
    const ok = await spdySession(await execUrl(['echo', protocol], {}), { stdout: true, stderr: true }, [protocol]);
    assert.equal(ok.protocol, protocol);
    const okResult = await ok.done;
    assert.equal(okResult.stdout, `${protocol}\n`);
    assert.equal(okResult.error, '');
    const bad = await spdySession(await execUrl(['sh', '-c', 'exit 7'], {}), { stdout: true, stderr: true }, [protocol]);
    const badResult = await bad.done;
    assert.match(badResult.error, /^command terminated with non-zero exit code: .*exit code 7$/);
  }
});

test('a TTY: the terminal takes resizes, seen by stty size', async () => {
  const s = await spdySession(await execUrl(['sh'], { stdin: true, tty: true }), { stdin: true, stdout: true, tty: true });
  s.resize(100, 30);
  s.write('stty size; tty\n');
  await s.waitForStdout(/30 100\r?\n\/dev\/pts\/\d+/);
  s.resize(132, 43);
  await askUntil(s, 'stty size\n', /43 132\r?\n/);
  s.write('exit 5\n');
  const r = await s.done;
  assert.equal(r.exitCode, 5);
});

test('WebSocket v5: stdin round trip, closed with the CLOSE signal', async () => {
  const s = await webSocketSession(await execUrl(['cat'], { stdin: true }));
  assert.equal(s.protocol, 'v5.channel.k8s.io');
  s.write('over websocket\n');
  await s.waitForStdout('over websocket\n');
  s.closeStdin();
  const r = await s.done;
  assert.equal(r.stdout, 'over websocket\n');
  assert.equal(r.exitCode, 0);
});

test('WebSocket v4 and base64: output, stderr and exit code', async () => {
  const v4 = await webSocketSession(await execUrl(['sh', '-c', 'echo out; echo err >&2; exit 4'], {}), ['v4.channel.k8s.io']);
  assert.equal(v4.protocol, 'v4.channel.k8s.io');
  const r = await v4.done;
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal(r.exitCode, 4);
  const b64 = await webSocketSession(await execUrl(['echo', 'base64 ok'], {}), ['v4.base64.channel.k8s.io']);
  assert.equal(b64.protocol, 'v4.base64.channel.k8s.io');
  const r2 = await b64.done;
  assert.equal(r2.stdout, 'base64 ok\n');
  assert.equal(r2.exitCode, 0);
});

test('WebSocket with a TTY: resize on channel 4', async () => {
  const s = await webSocketSession(await execUrl(['sh'], { stdin: true, tty: true }));
  s.resize(90, 20);
  await askUntil(s, 'stty size\n', /20 90\r?\n/);
  s.write('exit\n');
  assert.equal((await s.done).exitCode, 0);
});

test('large output arrives whole (beyond any flow-control window)', async () => {
  const s = await spdySession(await execUrl(['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x'], {}), { stdout: true, stderr: true });
  const r = await s.done;
  assert.equal(r.stdout.length, 3_000_000);
  assert.equal(r.exitCode, 0);
});

test('a token is good once: reuse and unknown tokens get 404', async () => {
  const url = await execUrl(['true'], {});
  await (await spdySession(url, { stdout: true, stderr: true })).done;
  await assert.rejects(spdySession(url, { stdout: true, stderr: true }), (err: unknown) => err instanceof UpgradeError && err.statusCode === 404);
  const bogus = url.replace(/[^/]+$/, 'not-a-token');
  await assert.rejects(upgrade(bogus, { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' }), (err: unknown) => err instanceof UpgradeError && err.statusCode === 404);
  // An exec token is no attach token.
  const execToken = (await execUrl(['true'], {})).replace('/exec/', '/attach/');
  await assert.rejects(spdySession(execToken, { stdout: true }), (err: unknown) => err instanceof UpgradeError && err.statusCode === 404);
});

test('an unknown command fails with runc\'s message on the error stream', async () => {
  const s = await spdySession(await execUrl(['no-such-command'], {}), { stdout: true, stderr: true });
  const r = await s.done;
  assert.equal(r.status?.status, 'Failure');
  assert.equal(r.status?.reason, 'InternalError');
  assert.match(r.status?.message ?? '', /no-such-command.*(not found|no such file)/i);
  assert.equal(r.stderr, '', 'runc\'s message is not passed off as the command\'s stderr');
});

test('Exec validates its request', async () => {
  const bad: [Message, RegExp][] = [
    [{ container_id: '', cmd: ['true'], stdout: true }, /container_id/],
    [{ container_id: container, cmd: ['true'], stdout: true, stderr: true, tty: true }, /tty and stderr/],
    [{ container_id: container, cmd: ['true'] }, /one of stdin, stdout, or stderr/],
    [{ container_id: container, cmd: [], stdout: true }, /cmd/],
  ];
  for (const [req, message] of bad) {
    await assert.rejects(d.cri.runtime.call('Exec', req), (err: { code: number; details: string }) => err.code === grpcStatus.INVALID_ARGUMENT && message.test(err.details));
  }
  await assert.rejects(d.cri.runtime.call('Exec', { container_id: 'nope', cmd: ['true'], stdout: true }), (err: { code: number }) => err.code === grpcStatus.NOT_FOUND);
});

test('exec into a stopped container is refused with FAILED_PRECONDITION', async () => {
  const pod = podConfig(d, 'exec-stopped');
  const { id } = await runPod(d, pod);
  const short = await startContainer(d, id, pod, containerConfig('short', ['true']));
  await waitExited(d, short);
  for (const method of ['Exec', 'Attach']) {
    await assert.rejects(
      d.cri.runtime.call(method, { container_id: short, cmd: ['true'], stdout: true }),
      (err: { code: number; details: string }) => err.code === grpcStatus.FAILED_PRECONDITION && /not running/.test(err.details),
    );
  }
  await assert.rejects(
    d.cri.runtime.call('ExecSync', { container_id: short, cmd: ['true'], timeout: 0 }),
    (err: { code: number; details: string }) => err.code === grpcStatus.FAILED_PRECONDITION && /not running/.test(err.details),
  );
  // A URL handed out while it ran is refused with a clear status once it has stopped.
  const c = await startContainer(d, id, pod, containerConfig('stopping', ['sleep', '3600']));
  const url = await execUrl(['true'], {}, c);
  await d.cri.runtime.call('StopContainer', { container_id: c, timeout: 0 });
  const r = await (await spdySession(url, { stdout: true, stderr: true })).done;
  assert.equal(r.status?.status, 'Failure');
  assert.match(r.status?.message ?? '', /not running/);
});

test('a client that goes away ends its exec process', async () => {
  const s = await spdySession(await execUrl(['sh', '-c', 'echo started; exec sleep 1000'], {}), { stdout: true, stderr: true });
  await s.waitForStdout('started');
  s.close();
  // The sleep is killed: nothing but the container's own sleep is left.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { stdout } = await d.cri.runtime.call<{ stdout: Buffer }>('ExecSync', { container_id: container, cmd: ['ps', '-o', 'args'], timeout: 5 });
    if (!String(stdout).includes('sleep 1000')) break;
    if (Date.now() > deadline) assert.fail(`exec process still running:\n${String(stdout)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});
