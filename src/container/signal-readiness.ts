import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { readProcFile } from '../process/identity.js';

/** How long after its start a container's first process may still be setting up its handlers. */
const SETUP_WINDOW_MS = 2000;
/** The name runc gives its init process ("runc:[2:INIT]") until it execs the container's. */
const RUNC_INIT_NAME = 'runc:[';

/**
 * The kernel drops signals to the first process of a PID namespace unless it has a handler. A
 * stop that arrives while a just-started process is still loading would be lost, and the
 * container would only end at SIGKILL after the whole grace period. So for a PID-1 process
 * started moments ago, wait (briefly) until it catches the signal before sending it.
 *
 * A start through the exec fifo ends when runc's init closes the fifo, which it does inside its
 * execve: the process is then still runc's init for a while, with the Go runtime's handlers for
 * every signal, which the exec resets an instant later. Its handlers say nothing until its name
 * is no longer runc's.
 */
export async function waitUntilSignalCanLand(pid: number, signal: string, startedAtNs: bigint): Promise<void> {
  const number = constants.signals[(signal.startsWith('SIG') ? signal : `SIG${signal}`) as keyof typeof constants.signals];
  if (!pid || !number) return;
  const bit = 1n << BigInt(number - 1);
  const deadline = Number(startedAtNs / 1_000_000n) + SETUP_WINDOW_MS;
  while (Date.now() < deadline) {
    const status = readProcFile(`/proc/${pid}/status`);
    if (!status) return;
    const field = (name: string) => status.split('\n').find((l) => l.startsWith(`${name}:`))?.split(/\s+/).slice(1) ?? [];
    const nspid = field('NSpid');
    if (nspid[nspid.length - 1] !== '1') return; // Not PID 1: the default action applies.
    if (!(field('Name')[0] ?? '').startsWith(RUNC_INIT_NAME)) {
      const caught = BigInt(`0x${field('SigCgt')[0] ?? '0'}`);
      if (caught & bit) return;
    }
    await sleep(10);
  }
}
