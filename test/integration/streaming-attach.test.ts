// Attach to the stdio conmon holds for a container, over SPDY and WebSocket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCricket, waitFor, type TestDaemon } from '../harness/cricket.js';
import { containerConfig, containerStatus, podConfig, runPod, startContainer, waitExited } from '../harness/pods.js';
import { spdySession, webSocketSession } from '../client/streaming.js';
import type { Message } from '../client/cri.js';

let d: TestDaemon;
let pod: Message;
let podId: string;

before(async () => {
  d = await startCricket();
  pod = podConfig(d, 'attach-target');
  podId = (await runPod(d, pod)).id;
});
after(async () => {
  await d.stop();
});

async function attachUrl(id: string, opts: { stdin?: boolean; stdout?: boolean; stderr?: boolean; tty?: boolean }): Promise<string> {
  const { url } = await d.cri.runtime.call<{ url: string }>('Attach', {
    container_id: id,
    stdin: opts.stdin ?? false,
    stdout: opts.stdout ?? true,
    stderr: opts.stderr ?? false,
    tty: opts.tty ?? false,
  });
  return url;
}

test('attach to a running shell with a TTY: input, output and resize', async () => {
  const c = await startContainer(d, podId, pod, containerConfig('tty-shell', ['sh'], { stdin: true, tty: true }));
  const s = await spdySession(await attachUrl(c, { stdin: true, tty: true }), { stdin: true, stdout: true, tty: true });
  s.resize(77, 21);
  s.write('echo attached-$((40+2))\n');
  await s.waitForStdout('attached-42');
  // The resize goes through conmon's ctl FIFO, asynchronously: ask until it shows.
  await waitFor('the new terminal size', async () => {
    s.write('stty size\n');
    await new Promise((r) => setTimeout(r, 100));
    return /21 77\r?\n/.test(s.stdout) ? true : undefined;
  });
  // Detaching leaves the container running.
  s.close();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await containerStatus(d, c)).state, 'CONTAINER_RUNNING');

  // A second attach, over WebSocket v5, sees the same shell; its exit ends the session.
  const ws = await webSocketSession(await attachUrl(c, { stdin: true, tty: true }));
  ws.write('echo second-$((2*3))\n');
  await ws.waitForStdout('second-6');
  ws.write('exit 0\n');
  const r = await ws.done;
  assert.deepEqual(JSON.parse(r.error), { metadata: {}, status: 'Success' });
  await waitExited(d, c);
});

test('attach without a TTY: stdout and stderr apart, stdin to the container', async () => {
  const c = await startContainer(d, podId, pod, containerConfig('reader', ['sh', '-c', 'while read l; do echo out:$l; echo err:$l >&2; done; echo bye'], {
    stdin: true,
    stdin_once: true,
  }));
  const s = await spdySession(await attachUrl(c, { stdin: true, stdout: true, stderr: true }), { stdin: true, stdout: true, stderr: true });
  s.write('one\n');
  await s.waitForStdout('out:one\n');
  s.write('two\n');
  await s.waitForStdout('out:two\n');
  // stdin_once: the end of the attached stdin is the end of the container's stdin.
  s.closeStdin();
  const r = await s.done;
  assert.equal(r.stdout, 'out:one\nout:two\nbye\n');
  assert.equal(r.stderr, 'err:one\nerr:two\n');
  assert.equal(r.exitCode, 0);
  const exited = await waitExited(d, c);
  assert.equal(exited.exit_code, 0);
  // Everything also went to the CRI log.
  const log = readFileSync(join(pod.log_directory as string, 'reader', '0.log'), 'utf8');
  assert.match(log, / stdout F out:two\n/);
  assert.match(log, / stderr F err:one\n/);
});

test('attach to a container without stdin only reads its output', async () => {
  const c = await startContainer(d, podId, pod, containerConfig('ticker', ['sh', '-c', 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.1; done']));
  const s = await spdySession(await attachUrl(c, { stdout: true, stderr: true }), { stdout: true, stderr: true });
  await s.waitForStdout(/tick-\d+\n.*tick-\d+\n/s);
  s.close();
  await d.cri.runtime.call('StopContainer', { container_id: c, timeout: 0 });
});
