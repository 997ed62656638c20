// A client that never reads must not make the daemon buffer without bound: the output of the
// command (or of the pod's connection) is paused, and the producer blocks in the kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { useCricket, waitFor } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import { processesWhere } from '../harness/processes.js';
import { spdySession, stalledSpdyExec, stalledSpdyPortForward, stalledWebSocketExec } from '../client/streaming.js';

const d = useCricket();
let podId: string;
let container: string;
/** How much the daemon may grow while a client is stalled; today's unbounded buffering passes it within a second. */
const RSS_BOUND_KIB = 64 * 1024;
const STALL_MS = 6000;

// Made by the first test (a top-level before() may run ahead of useCricket's).
let ready: Promise<void> | undefined;
const setup = () => (ready ??= makePod());

async function makePod(): Promise<void> {
  const pod = podConfig(d, 'flood');
  podId = (await runPod(d, pod)).id;
  // A server that answers every connection with an endless stream of "y\n".
  container = await startContainer(d, podId, pod, containerConfig('flood', ['nc', '-ll', '-p', '9000', '-e', 'yes']));
  // Load the streaming machinery once, so that the baseline includes it.
  const warm = await spdySession(await execUrl(['true']), { stdout: true });
  await warm.done;
}

async function execUrl(cmd: string[], tty = false): Promise<string> {
  const { url } = await d.cri.runtime.call<{ url: string }>('Exec', { container_id: container, cmd, stdout: true, stderr: false, stdin: false, tty });
  return url;
}

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmRSS not found');
  return Number(m[1]);
}

function processesWith(text: string): number[] {
  return processesWhere((argv) => argv.join(' ').includes(text));
}

/** The daemon's children that are cricket-io relays. */
function relays(): number[] {
  const daemon = d.pid();
  return processesWith('cricket-io').filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(daemon);
    } catch {
      return false;
    }
  });
}

/** Watches the daemon's RSS while a client is stalled; fails as soon as it passes the bound. */
async function holdsBound(what: string, base: number): Promise<number> {
  let peak = base;
  const deadline = Date.now() + STALL_MS;
  while (Date.now() < deadline) {
    const rss = rssKiB(d.pid());
    peak = Math.max(peak, rss);
    assert.ok(rss - base < RSS_BOUND_KIB, `${what}: the daemon grew by ${Math.round((rss - base) / 1024)} MiB while the client did not read`);
    await sleep(200);
  }
  // Still serving others meanwhile.
  await d.cri.runtime.call('Version', {});
  return peak;
}

test('exec over SPDY: `yes` into a client that never reads keeps the daemon bounded, and ends with the client', async () => {
  await setup();
  const marker = `spdy-${randomBytes(4).toString('hex')}`;
  const base = rssKiB(d.pid());
  const socket = await stalledSpdyExec(await execUrl(['yes', marker]));
  await waitFor('the exec process', () => (processesWith(`yes ${marker}`).length > 0 ? true : undefined));
  const peak = await holdsBound('SPDY exec', base);
  assert.ok(processesWith(`yes ${marker}`).length > 0, 'the command should still be there, blocked on its output');
  socket.destroy();
  await waitFor('the exec process to end after the client left', () => (processesWith(`yes ${marker}`).length === 0 ? true : undefined), 20_000);
  console.log(`SPDY exec: RSS ${base} KiB before, peak ${peak} KiB`);
});

test('exec over WebSocket v5: `yes` into a client that never reads keeps the daemon bounded', async () => {
  await setup();
  const marker = `ws-${randomBytes(4).toString('hex')}`;
  const base = rssKiB(d.pid());
  const ws = await stalledWebSocketExec(await execUrl(['yes', marker]));
  await waitFor('the exec process', () => (processesWith(`yes ${marker}`).length > 0 ? true : undefined));
  const peak = await holdsBound('WebSocket exec', base);
  ws.terminate();
  await waitFor('the exec process to end after the client left', () => (processesWith(`yes ${marker}`).length === 0 ? true : undefined), 20_000);
  console.log(`WebSocket exec: RSS ${base} KiB before, peak ${peak} KiB`);
});

test('exec with a TTY over WebSocket: the terminal relay blocks, and ends with the client', async () => {
  await setup();
  const marker = `tty-${randomBytes(4).toString('hex')}`;
  const base = rssKiB(d.pid());
  const ws = await stalledWebSocketExec(await execUrl(['yes', marker], true));
  await waitFor('the exec process', () => (processesWith(`yes ${marker}`).length > 0 ? true : undefined));
  const peak = await holdsBound('TTY exec', base);
  ws.terminate();
  await waitFor('the exec process to end after the client left', () => (processesWith(`yes ${marker}`).length === 0 ? true : undefined), 20_000);
  await waitFor('its terminal relay to end', () => (relays().length === 0 ? true : undefined), 20_000);
  console.log(`TTY exec: RSS ${base} KiB before, peak ${peak} KiB`);
});

test("port-forward over SPDY: a pod's endless answer into a client that never reads keeps the daemon bounded", async () => {
  await setup();
  const { url } = await d.cri.runtime.call<{ url: string }>('PortForward', { pod_sandbox_id: podId, port: [] });
  const base = rssKiB(d.pid());
  const before = relays().length;
  const socket = await stalledSpdyPortForward(url, 9000);
  await waitFor('the relay into the pod', () => (relays().length > before ? true : undefined));
  const peak = await holdsBound('SPDY port-forward', base);
  socket.destroy();
  await waitFor('the relay to end after the client left', () => (relays().length === before ? true : undefined), 20_000);
  console.log(`SPDY port-forward: RSS ${base} KiB before, peak ${peak} KiB`);
});
