// Resolving a container's user from the image's account files, read once per image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveUser } from '../../src/container/user.js';

function layer(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cricket-user-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'etc'));
  return dir;
}

test('names, groups and memberships come from the image; the security context wins', async (t) => {
  const dir = layer(t);
  writeFileSync(path.join(dir, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  writeFileSync(path.join(dir, 'etc', 'group'), 'root:x:0:\napp:x:1000:\nvideo:x:44:app\naudio:x:29:app\n');
  assert.deepEqual(await resolveUser([dir], { imageUser: 'app' }), { uid: 1000, gid: 1000, additionalGids: [44, 29] });
  assert.deepEqual(await resolveUser([dir], { imageUser: 'app', strictGroups: true, supplementalGroups: [5] }), { uid: 1000, gid: 1000, additionalGids: [5] });
  assert.deepEqual(await resolveUser([dir], { imageUser: 'app:video', runAsUser: 0 }), { uid: 0, gid: 0, additionalGids: [] });
  await assert.rejects(resolveUser([dir], { imageUser: 'nobody' }), /not in the image's \/etc\/passwd/);
});

test('an image whose /etc/passwd is a FIFO is refused every time, and a fixed one is read again', async (t) => {
  const dir = layer(t);
  execFileSync('mkfifo', [path.join(dir, 'etc', 'passwd')]);
  for (let i = 0; i < 2; i++) await assert.rejects(resolveUser([dir], { imageUser: '' }), /etc\/passwd/);
  rmSync(path.join(dir, 'etc', 'passwd'));
  writeFileSync(path.join(dir, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
  assert.deepEqual(await resolveUser([dir], { imageUser: '' }), { uid: 0, gid: 0, additionalGids: [] });
});
