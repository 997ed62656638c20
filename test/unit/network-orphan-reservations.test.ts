// Releasing host-local reservations whose pod no record holds (start-up recovery).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { releaseOrphanReservations } from '../../src/network/orphan-reservations.js';

test('only reservations of unknown pods go; odd files and the allocator\'s own files stay', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cricket-reservations-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const outside = path.join(dir, '..', `${path.basename(dir)}-outside`);
  writeFileSync(outside, 'gone\r\neth0');
  t.after(() => rmSync(outside, { force: true }));
  writeFileSync(path.join(dir, '10.85.0.2'), 'live\r\neth0');
  writeFileSync(path.join(dir, '10.85.0.3'), 'gone\r\neth0');
  writeFileSync(path.join(dir, '10.85.0.4'), 'gone'); // the older format: the id alone
  writeFileSync(path.join(dir, 'fd00::5'), 'gone\neth0');
  writeFileSync(path.join(dir, 'last_reserved_ip.0'), '10.85.0.4');
  writeFileSync(path.join(dir, 'lock'), '');
  writeFileSync(path.join(dir, '10.85.0.6'), ''); // no owner named: not ours to judge
  writeFileSync(path.join(dir, '10.85.0.7'), 'x'.repeat(10_000)); // too big to be a reservation
  symlinkSync(outside, path.join(dir, '10.85.0.8'));
  execFileSync('mkfifo', [path.join(dir, '10.85.0.9')]);

  const released = await releaseOrphanReservations(dir, new Set(['live']));
  assert.deepEqual(released.sort(), ['10.85.0.3', '10.85.0.4', 'fd00::5']);
  assert.deepEqual(readdirSync(dir).sort(), ['10.85.0.2', '10.85.0.6', '10.85.0.7', '10.85.0.8', '10.85.0.9', 'last_reserved_ip.0', 'lock']);
  assert.ok(existsSync(outside), 'a link is not followed');
});

test('a network that never reserved anything has nothing to release', async () => {
  assert.deepEqual(await releaseOrphanReservations(path.join(tmpdir(), 'cricket-no-such-network-dir'), new Set()), []);
});
