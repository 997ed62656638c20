// Background work and the process-level guards: a failure is logged and tried again, never the
// end of the daemon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startImageGarbageCollection } from '../../src/image/gc.js';
import { ImageStore } from '../../src/image/store.js';
import { EventBus, type LifecycleEvent } from '../../src/store/events.js';

const DIST_SRC = fileURLToPath(new URL('../../src/', import.meta.url));

test('a lifecycle listener that throws neither stops the others nor the emitter', () => {
  const bus = new EventBus();
  const seen: string[] = [];
  bus.subscribe(() => {
    throw new Error('listener bug');
  });
  bus.subscribe((e) => seen.push(e.containerId));
  const event: LifecycleEvent = { type: 'stopped', containerId: 'c1', sandboxId: 'p1', at: 1n };
  assert.doesNotThrow(() => bus.emit(event));
  assert.deepEqual(seen, ['c1']);
});

test('image garbage collection that fails is tried again until it succeeds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cricket-gc-retry-'));
  const store = ImageStore.open(join(dir, 'store'));
  const orphan = join(store.root, 'blobs', 'sha256', 'e'.repeat(64));
  writeFileSync(orphan, 'no image names this');
  // A file where the layers directory should be: every collection fails before it gets to blobs.
  const layers = join(store.root, 'layers');
  renameSync(layers, `${layers}.aside`);
  writeFileSync(layers, '');
  const stop = startImageGarbageCollection(store, () => new Set<string>(), new EventBus(), 20);
  try {
    await sleep(300);
    assert.ok(existsSync(orphan), 'nothing collected while the store is broken');
    rmSync(layers);
    renameSync(`${layers}.aside`, layers);
    const deadline = Date.now() + 15_000;
    while (existsSync(orphan) && Date.now() < deadline) await sleep(50);
    assert.ok(!existsSync(orphan), 'collected once the store is usable again');
    assert.deepEqual(readdirSync(join(store.root, 'blobs', 'sha256')), []);
  } finally {
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs a script in a fresh node with the daemon's process guards installed. */
function guarded(body: string): { status: number | null; stdout: string; log: Record<string, unknown>[] } {
  const script = `
    import { installProcessGuards } from ${JSON.stringify(pathToFileURL(join(DIST_SRC, 'daemon/process-guards.js')).href)};
    import { createWriteStream } from 'node:fs';
    installProcessGuards();
    ${body}
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, CRICKET_LOG_LEVEL: 'info' } });
  const log = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, stdout: r.stdout, log };
}

test('an unhandled rejection and an uncaught system error are logged and the daemon goes on', () => {
  const r = guarded(`
    Promise.reject(new Error('background task lost its error'));
    // A stream without an error listener meeting a full disk: a real ENOSPC, thrown from an emitter.
    createWriteStream('/dev/full').write('x');
    setTimeout(() => process.stdout.write('still serving\\n'), 300);
  `);
  assert.equal(r.status, 0, JSON.stringify(r.log));
  assert.equal(r.stdout, 'still serving\n');
  const rejection = r.log.find((l) => l.origin === 'unhandledRejection');
  assert.match(String((rejection?.err as { message?: string })?.message), /background task lost its error/);
  const system = r.log.find((l) => l.code === 'ENOSPC');
  assert.equal(system?.syscall, 'write');
  assert.match(String(system?.msg), /keeps running/);
});

test('an uncaught programming error stops the daemon with status 70 after logging it', () => {
  const r = guarded(`
    setTimeout(() => { const record = undefined; record.state; }, 10);
    setTimeout(() => process.stdout.write('served on after a TypeError\\n'), 1500);
  `);
  assert.equal(r.status, 70);
  assert.equal(r.stdout, '');
  const fatal = r.log.find((l) => l.level === 60);
  assert.match(String((fatal?.err as { type?: string })?.type), /TypeError/);
});
