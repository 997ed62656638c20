// build/native/cricket-init: passes the daemon's status and the caller's signals through, takes
// the daemon down when it is SIGKILLed, and reaps the orphans re-parented to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseProcStat } from '../../src/process/proc-stat.js';

const INIT = join(fileURLToPath(new URL('../../../', import.meta.url)), 'build', 'native', 'cricket-init');

function run(script: string): { child: ChildProcess; lines: string[]; exit: Promise<[number | null, NodeJS.Signals | null]> } {
  const child = spawn(INIT, ['/bin/sh', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  return { child, lines, exit: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]> };
}

async function line(lines: string[], index: number): Promise<string> {
  for (let i = 0; i < 200 && lines.length <= index; i++) await sleep(25);
  assert.ok(lines.length > index, 'no output from the child');
  return lines[index]!;
}

function stat(pid: number) {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

test('the child\'s exit status and death by signal pass through', async () => {
  assert.deepEqual(await run('exit 7').exit, [7, null]);
  assert.deepEqual(await run('kill -USR1 $$').exit, [null, 'SIGUSR1']);
});

test('SIGTERM sent to cricket-init reaches the child, which shuts down its own way', async () => {
  const { child, lines, exit } = run('trap "exit 5" TERM; echo ready; while :; do sleep 0.05; done');
  assert.equal(await line(lines, 0), 'ready');
  child.kill('SIGTERM');
  assert.deepEqual(await exit, [5, null]);
});

test('SIGKILL of cricket-init takes the child with it', async () => {
  const { child, lines, exit } = run('echo $$; exec sleep 30');
  const pid = Number(await line(lines, 0));
  const before = stat(pid)!;
  assert.equal(before.ppid, child.pid);
  child.kill('SIGKILL');
  await exit;
  for (let i = 0; i < 200 && stat(pid)?.startTime === before.startTime; i++) await sleep(25);
  assert.notEqual(stat(pid)?.startTime, before.startTime, 'the child outlived cricket-init');
});

test('orphans are re-parented to cricket-init and reaped when they exit', async () => {
  // The inner shell leaves a sleep behind and exits: the sleep is an orphan.
  const { child, lines, exit } = run('sh -c "sleep 0.5 >/dev/null & echo \\$!"; exec sleep 5');
  const orphan = Number(await line(lines, 0));
  const s = stat(orphan);
  assert.equal(s?.ppid, child.pid, 'the orphan went to another reaper');
  let gone = false;
  for (let i = 0; i < 200 && !gone; i++) {
    await sleep(25);
    const now = stat(orphan);
    gone = !now || now.startTime !== s!.startTime;
  }
  assert.ok(gone, `orphan ${orphan} still there, state ${stat(orphan)?.state}`);
  child.kill('SIGTERM');
  await exit;
});
