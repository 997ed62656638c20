// The state dir goes on a tmpfs of the daemon's own when it is an empty directory on a disk; an
// operator's mount and a directory already holding state are left as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountsAt } from '../../src/process/mount-table.js';
import { startCricket, type TestDaemon } from '../harness/cricket.js';
import { podConfig, runPod } from '../harness/pods.js';
import { asNobody } from '../harness/processes.js';


async function podsAfterRestart(d: TestDaemon): Promise<string[]> {
  await d.kill('SIGKILL');
  await d.restart();
  const { items } = await d.cri.runtime.call<{ items: { id: string; state: string }[] }>('ListPodSandbox', {});
  return items.map((p) => `${p.id}:${p.state}`);
}

test('an empty state dir on a disk gets a tmpfs that outlives a daemon restart, and only one', async () => {
  const d = await startCricket();
  try {
    const mounts = mountsAt(d.stateDir);
    assert.equal(mounts.length, 1, JSON.stringify(mounts));
    assert.equal(mounts[0]!.fsType, 'tmpfs');
    assert.equal(mounts[0]!.source, 'cricket-state');
    for (const flag of ['nosuid', 'nodev', 'noexec']) assert.ok(mounts[0]!.options.includes(flag), `${flag} in ${mounts[0]!.options.join(',')}`);
    assert.equal(statSync(d.stateDir).mode & 0o777, 0o711);
    // Another user may pass through (to the socket a config may put there), never list.
    const listing = asNobody(['ls', d.stateDir]);
    assert.notEqual(listing.status, 0, `nobody listed the state dir: ${listing.stdout}`);

    const { id } = await runPod(d, podConfig(d, 'on-tmpfs'));
    assert.ok(readdirSync(join(d.stateDir, 'sandboxes')).includes(id), 'the pod\'s files are on the tmpfs');
    assert.ok(readdirSync(join(d.stateDir, 'netns')).includes(id), 'its netns is pinned there');

    // A crashed daemon comes back to the same tmpfs: the pod and its pinned netns are still there.
    assert.deepEqual(await podsAfterRestart(d), [`${id}:SANDBOX_READY`]);
    assert.equal(mountsAt(d.stateDir).length, 1, 'the restart did not stack a second tmpfs');
    const run = await d.cri.runtime.call<{ status: { network: { ip: string } } }>('PodSandboxStatus', { pod_sandbox_id: id });
    assert.ok(run.status.network.ip, 'the pod kept its network');
  } finally {
    await d.stop();
  }
  assert.equal(mountsAt(d.stateDir).length, 0);
});

test('a state dir that already holds files stays on its disk', async () => {
  let marker = '';
  const d = await startCricket({
    prepare(dir) {
      mkdirSync(join(dir, 'state'), { recursive: true });
      marker = join(dir, 'state', 'left-by-an-earlier-daemon');
      writeFileSync(marker, '');
    },
  });
  try {
    assert.deepEqual(mountsAt(d.stateDir), [], 'a tmpfs would hide what the directory holds');
    assert.ok(readdirSync(d.stateDir).includes('left-by-an-earlier-daemon'));
    const { id } = await runPod(d, podConfig(d, 'on-disk'));
    assert.ok(readdirSync(join(d.stateDir, 'sandboxes')).includes(id));
  } finally {
    await d.stop();
  }
});

test('a state dir that is a tmpfs of the operator\'s is used as it is', async () => {
  const d = await startCricket({
    prepare(dir) {
      mkdirSync(join(dir, 'state'), { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=0700,size=16m', 'operator-state', join(dir, 'state')]);
    },
    release: (dir) => execFileSync('umount', [join(dir, 'state')]),
  });
  try {
    const mounts = mountsAt(d.stateDir);
    assert.deepEqual(mounts.map((m) => m.source), ['operator-state']);
    await runPod(d, podConfig(d, 'operator-tmpfs'));
  } finally {
    await d.stop();
  }
});
