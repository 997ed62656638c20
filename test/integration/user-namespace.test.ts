// Pods with their own user namespace (kubelet's hostUsers: false): root inside, an unprivileged
// id range on the host, the rootfs and volumes owned as the mapping says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { TEST_CGROUP_PARENT, useCricket, type TestDaemon } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';
import type { Message } from '../client/cri.js';

const d: TestDaemon = useCricket();
const SLOT = Number.parseInt(process.env.CRICKET_TEST_SLOT ?? '0', 10) || 0;
/** A range of its own per test slot, as kubelet gives each pod its own. */
const HOST_ID = 65536 * (16 + SLOT);

const mapping = (hostId: number, length = 65536, containerId = 0) => ({ host_id: hostId, container_id: containerId, length });
function usernsPod(name: string, userns: Message, extra: Message = {}): Message {
  return podConfig(d, name, { linux: { cgroup_parent: `/${TEST_CGROUP_PARENT}`, security_context: { namespace_options: { userns_options: userns, ...extra } } } });
}
const hostIds = (pid: number, field: 'Uid' | 'Gid') =>
  readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))!.split(/\s+/).slice(1).map(Number);

interface ExecReply {
  stdout: Buffer;
  stderr: Buffer;
  exit_code: number;
}
const exec = async (id: string, script: string) => {
  const r = await d.cri.runtime.call<ExecReply & Record<string, unknown>>('ExecSync', { container_id: id, cmd: ['sh', '-c', script], timeout: 30 }, { deadlineMs: 60_000 });
  return { out: String(r.stdout).trim(), err: String(r.stderr).trim(), code: r.exit_code };
};

test('a POD user namespace: root inside, the mapped range on the host, writable rootfs, readable volume', async () => {
  const userns = { mode: 'POD', uids: [mapping(HOST_ID)], gids: [mapping(HOST_ID)] };
  const pod = usernsPod('userns', userns);
  // The test's directory stands where the node's /var/lib and /run stand: enterable by anyone.
  chmodSync(d.dir, 0o711);
  const { id: podId, ip } = await runPod(d, pod);
  assert.match(ip, /^10\.99\./, 'CNI gives the pod an address in the network namespace pause made');
  const pausePid = d.runcState(podId)!.pid;
  // pause runs as 65535 inside: the top of the range on the host.
  assert.equal(hostIds(pausePid, 'Uid')[0], HOST_ID + 65535);
  assert.notEqual(readlinkSync(`/proc/${pausePid}/ns/user`), readlinkSync('/proc/self/ns/user'));
  assert.equal(readFileSync(`/proc/${pausePid}/uid_map`, 'utf8').trim().split(/\s+/).join(' '), `0 ${HOST_ID} 65536`);

  // A volume as kubelet makes it: a host directory with a file only host root may read.
  const vol = join(d.dir, 'volume');
  mkdirSync(vol, { mode: 0o755 });
  writeFileSync(join(vol, 'secret'), 'only-root\n', { mode: 0o600 });
  chmodSync(join(vol, 'secret'), 0o600);
  const config = containerConfig('app', ['sleep', '300'], {
    mounts: [{ container_path: '/vol', host_path: vol }],
    linux: { security_context: { namespace_options: { userns_options: userns } } },
  });
  const id = await startContainer(d, podId, pod, config);
  const pid = d.runcState(id)!.pid;
  // The container's directory lets the pod's root group through, no one else; the directory of
  // all containers may be entered, not listed.
  const bundle = statSync(join(d.stateDir, 'containers', id));
  assert.deepEqual([bundle.mode & 0o777, bundle.uid, bundle.gid], [0o710, 0, HOST_ID]);
  assert.equal(statSync(join(d.stateDir, 'containers')).mode & 0o777, 0o711);
  assert.equal(readlinkSync(`/proc/${pid}/ns/user`), readlinkSync(`/proc/${pausePid}/ns/user`), 'the container joins the pod user namespace');
  assert.deepEqual(hostIds(pid, 'Uid'), [HOST_ID, HOST_ID, HOST_ID, HOST_ID], 'container root is an unprivileged id on the host');
  assert.ok(hostIds(pid, 'Uid')[0]! >= 65536);
  assert.equal(hostIds(pid, 'Gid')[0], HOST_ID);

  assert.equal((await exec(id, 'id -u')).out, '0');
  assert.match((await exec(id, 'ip -4 addr show eth0')).out, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));
  // The image's root-owned files are the pod root's: it writes where only root may.
  const w = await exec(id, 'echo written > /etc/made-here && cat /etc/made-here && stat -c %u:%g /etc /bin/sh');
  assert.equal(w.code, 0, w.err);
  assert.deepEqual(w.out.split('\n'), ['written', '0:0', '0:0']);
  // The copy-up lands in the writable layer under the pod's host id.
  const upper = readdirUpper(d, id);
  assert.equal(statSync(join(upper, 'etc', 'made-here')).uid, HOST_ID);

  // The volume's host-root file appears as root's and can be read.
  const v = await exec(id, 'stat -c %u /vol/secret && cat /vol/secret');
  assert.equal(v.code, 0, v.err);
  assert.deepEqual(v.out.split('\n'), ['0', 'only-root']);
  // Host processes do not gain: a host id outside the range is nobody inside.
  const nobody = await exec(id, 'cat /proc/1/status >/dev/null; stat -c %u /proc/1 2>&1; echo x > /proc/sysrq-trigger 2>&1 || echo denied');
  assert.match(nobody.out, /denied/);

  await d.cri.runtime.call('RemoveContainer', { container_id: id });
  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: podId });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.equal(readFileSync(join(vol, 'secret'), 'utf8'), 'only-root\n', 'removal leaves the volume alone');
});

function readdirUpper(daemon: TestDaemon, id: string): string {
  // The writable layer of a container, from its overlay mount.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(id) && l.includes(' - overlay '));
  const m = /upperdir=([^,\s]+)/.exec(mounts[0] ?? '');
  assert.ok(m, `the overlay of ${id} is mounted`);
  return m[1]!;
}

test('NODE mode keeps the node user namespace', async () => {
  const pod = usernsPod('userns-node', { mode: 'NODE' });
  const { id: podId } = await runPod(d, pod);
  const pausePid = d.runcState(podId)!.pid;
  assert.equal(readlinkSync(`/proc/${pausePid}/ns/user`), readlinkSync('/proc/self/ns/user'));
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test('mappings outside kubelet\'s rules, TARGET, and host namespaces are INVALID_ARGUMENT', async () => {
  const bad: [string, Message, Message?][] = [
    ['short range', { mode: 'POD', uids: [mapping(HOST_ID, 1000)], gids: [mapping(HOST_ID)] }],
    ['unaligned host id', { mode: 'POD', uids: [mapping(HOST_ID + 5)], gids: [mapping(HOST_ID + 5)] }],
    ['host id 0', { mode: 'POD', uids: [mapping(0)], gids: [mapping(0)] }],
    ['container id not 0', { mode: 'POD', uids: [mapping(HOST_ID, 65536, 1)], gids: [mapping(HOST_ID)] }],
    ['two mappings', { mode: 'POD', uids: [mapping(HOST_ID), mapping(HOST_ID * 2)], gids: [mapping(HOST_ID)] }],
    ['no gid mapping', { mode: 'POD', uids: [mapping(HOST_ID)], gids: [] }],
    ['TARGET', { mode: 'TARGET', uids: [mapping(HOST_ID)], gids: [mapping(HOST_ID)] }],
    ['NODE with mappings', { mode: 'NODE', uids: [mapping(HOST_ID)], gids: [mapping(HOST_ID)] }],
    ['host network', { mode: 'POD', uids: [mapping(HOST_ID)], gids: [mapping(HOST_ID)] }, { network: 'NODE' }],
  ];
  for (const [what, userns, extra] of bad) {
    await assert.rejects(d.cri.runtime.call('RunPodSandbox', { config: usernsPod(`bad-${what.replace(/\W/g, '')}`, userns, extra) }), { code: status.INVALID_ARGUMENT }, what);
  }
  const { items } = await d.cri.runtime.call<{ items: { metadata: { name: string } }[] }>('ListPodSandbox', {});
  assert.deepEqual(items.filter((p) => p.metadata.name.startsWith('bad-')), [], 'nothing is left of a refused pod');
});

test('a container whose user namespace differs from its pod\'s is INVALID_ARGUMENT', async () => {
  const userns = { mode: 'POD', uids: [mapping(HOST_ID)], gids: [mapping(HOST_ID)] };
  const pod = usernsPod('userns-mismatch', userns);
  const { id: podId } = await runPod(d, pod);
  const other = { mode: 'POD', uids: [mapping(HOST_ID * 2)], gids: [mapping(HOST_ID * 2)] };
  const config = containerConfig('c', ['true'], { linux: { security_context: { namespace_options: { userns_options: other } } } });
  await assert.rejects(d.cri.runtime.call('CreateContainer', { pod_sandbox_id: podId, config, sandbox_config: pod }), { code: status.INVALID_ARGUMENT });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
});
