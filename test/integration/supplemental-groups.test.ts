// SupplementalGroupsPolicy: Merge adds the image's /etc/group memberships of the user, Strict
// gives only the requested groups; ContainerStatus.user reports what the process really has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Message } from '../client/cri.js';
import { useCricket } from '../harness/cricket.js';
import { importTestImage } from '../harness/images.js';
import { containerConfig, podConfig, runPod, startContainer, waitExited } from '../harness/pods.js';

const d = useCricket();
const IMAGE = 'cricket.local/groups-test:1';

let imported: Promise<number> | undefined;
// www (1000) is a member of audio (29) and video (44) in this image's /etc/group.
const image = () => (imported ??= importTestImage(d, IMAGE, [
    { path: 'etc/', type: 'dir' },
    { path: 'etc/group', data: Buffer.from('root:x:0:\naudio:x:29:www\nvideo:x:44:nobody,www\nwww:x:1000:\nnogroup:x:65534:\n') },
  ], { onBusybox: true }));

interface UserView { linux: { uid: string; gid: string; supplemental_groups: string[] } | null }

async function run(name: string, security: Message): Promise<{ container: string; user: UserView | null; procGroups: string[] }> {
  await image();
  const pod = podConfig(d, name);
  const { id } = await runPod(d, pod);
  const container = await startContainer(d, id, pod, containerConfig('app', ['sleep', '3600'], {
    image: { image: IMAGE },
    linux: { security_context: security },
  }));
  const { status } = await d.cri.runtime.call<{ status: { user: UserView | null } }>('ContainerStatus', { container_id: container });
  const pid = d.runcState(container)!.pid;
  const groupsLine = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Groups:'))!;
  return { container, user: status.user, procGroups: groupsLine.slice(7).trim().split(/\s+/).filter(Boolean) };
}

const sorted = (list: string[]) => [...list].sort((a, b) => Number(a) - Number(b));

test('Status announces the supplemental groups policy', async () => {
  const { features } = await d.cri.runtime.call<{ features: { supplemental_groups_policy: boolean } }>('Status', {});
  assert.equal(features.supplemental_groups_policy, true);
});

test('Merge (the default) adds the image\'s groups of the user to the requested ones', async () => {
  const { user, procGroups } = await run('merge', { run_as_user: { value: 1000 }, supplemental_groups: [5000] });
  assert.deepEqual(sorted(procGroups), ['29', '44', '5000']);
  assert.equal(user?.linux?.uid, '1000');
  assert.equal(user?.linux?.gid, '1000');
  assert.deepEqual(sorted(user!.linux!.supplemental_groups), ['29', '44', '5000']);
  const explicit = await run('merge-explicit', { run_as_user: { value: 1000 }, supplemental_groups: [5000], supplemental_groups_policy: 'Merge' });
  assert.deepEqual(sorted(explicit.procGroups), ['29', '44', '5000']);
});

test('Strict gives the process only the requested groups', async () => {
  const { user, procGroups } = await run('strict', { run_as_user: { value: 1000 }, run_as_group: { value: 3000 }, supplemental_groups: [5000, 6000], supplemental_groups_policy: 'Strict' });
  assert.deepEqual(sorted(procGroups), ['5000', '6000']);
  assert.equal(user?.linux?.uid, '1000');
  assert.equal(user?.linux?.gid, '3000');
  assert.deepEqual(sorted(user!.linux!.supplemental_groups), ['5000', '6000']);
});

test('ContainerStatus.user is the kernel\'s view while the process lives, absent after it exits', async () => {
  await image();
  const pod = podConfig(d, 'user-exit');
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('brief', ['true'], { image: { image: IMAGE } }));
  await waitExited(d, c);
  const { status } = await d.cri.runtime.call<{ status: { user: UserView | null } }>('ContainerStatus', { container_id: c });
  assert.equal(status.user, null);
  const root = await run('root-user', {});
  assert.equal(root.user?.linux?.uid, '0');
  assert.equal(root.user?.linux?.gid, '0');
});
