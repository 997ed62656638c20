// Security contexts take effect inside the container, or are refused clearly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { startCricket, TEST_CGROUP_PARENT, waitFor, type TestDaemon } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer, waitExited, logLines } from '../harness/pods.js';
import { processesWhere } from '../harness/processes.js';
import type { Message } from '../client/cri.js';

let d: TestDaemon;
let podId: string;
let pod: Message;
let privilegedPodId: string;
let privilegedPod: Message;
before(async () => {
  d = await startCricket();
  pod = podConfig(d, 'security');
  podId = (await runPod(d, pod)).id;
  privilegedPod = podConfig(d, 'privileged', { linux: { cgroup_parent: `/${TEST_CGROUP_PARENT}`, security_context: { privileged: true } } });
  privilegedPodId = (await runPod(d, privilegedPod)).id;
});
after(async () => {
  await d.stop();
});

let seq = 0;
/** Runs a shell script in a fresh container of the pod and returns its output lines. */
async function inContainer(script: string, securityContext: Message = {}, onPod: [string, Message] = [podId, pod]): Promise<string[]> {
  const name = `c${seq++}`;
  const id = await startContainer(d, onPod[0], onPod[1], containerConfig(name, ['sh', '-c', script], { linux: { security_context: securityContext } }));
  const s = await waitExited(d, id);
  return logLines(s.log_path);
}

const capEff = (lines: string[]) => BigInt(`0x${lines.find((l) => l.startsWith('CapEff:'))!.split(/\s+/)[1]}`);
const bit = (n: number) => 1n << BigInt(n);
const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_CHOWN = 0;

test('default, added and dropped capabilities', async () => {
  const baseOut = await inContainer('grep CapEff /proc/self/status; brctl addbr ckbr$$ 2>/dev/null && echo link-added');
  assert.ok(!baseOut.includes('link-added'), 'no network management without NET_ADMIN');
  const base = capEff(baseOut);
  assert.equal(base & bit(CAP_CHOWN), bit(CAP_CHOWN));
  assert.equal(base & bit(CAP_NET_ADMIN), 0n);
  const added = await inContainer('grep CapEff /proc/self/status; brctl addbr ckbr$$ && brctl delbr ckbr$$ && echo link-added', { capabilities: { add_capabilities: ['NET_ADMIN'] } });
  assert.equal(capEff(added) & bit(CAP_NET_ADMIN), bit(CAP_NET_ADMIN));
  assert.ok(added.includes('link-added'));
  const dropped = await inContainer('grep CapEff /proc/self/status', { capabilities: { drop_capabilities: ['ALL'] } });
  assert.equal(capEff(dropped), 0n);
  const onlyOne = await inContainer('grep CapEff /proc/self/status', { capabilities: { drop_capabilities: ['ALL'], add_capabilities: ['CAP_CHOWN'] } });
  assert.equal(capEff(onlyOne), bit(CAP_CHOWN));
});

test('privileged containers get every capability the node allows, and only in privileged pods', async () => {
  const out = await inContainer('grep CapEff /proc/self/status; brctl addbr ckbr$$ && brctl delbr ckbr$$ && echo link-added', { privileged: true }, [privilegedPodId, privilegedPod]);
  assert.equal(capEff(out) & bit(CAP_SYS_ADMIN), bit(CAP_SYS_ADMIN));
  assert.ok(out.includes('link-added'));
  await assert.rejects(
    d.cri.runtime.call('CreateContainer', { pod_sandbox_id: podId, config: containerConfig('bad-priv', ['true'], { linux: { security_context: { privileged: true } } }) }),
    { code: status.INVALID_ARGUMENT },
  );
});

test('run as user, group and supplemental groups', async () => {
  const out = await inContainer('id -u; id -g; id -G', { run_as_user: { value: 1234 }, run_as_group: { value: 5678 }, supplemental_groups: [777, 888] });
  assert.deepEqual(out.slice(0, 2), ['1234', '5678']);
  assert.deepEqual(out[2]!.split(' ').sort(), ['5678', '777', '888']);
  await assert.rejects(
    d.cri.runtime.call('CreateContainer', { pod_sandbox_id: podId, config: containerConfig('group-only', ['true'], { linux: { security_context: { run_as_group: { value: 5 } } } }) }),
    { code: status.INVALID_ARGUMENT },
  );
});

test('read-only root filesystem, no_new_privs, masked and read-only paths', async () => {
  const ro = await inContainer('(echo x > /file) 2>/dev/null && echo wrote || echo refused; grep NoNewPrivs /proc/self/status; wc -c < /proc/timer_list; (echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo sys-writable || echo sys-readonly', {
    readonly_rootfs: true,
    no_new_privs: true,
  });
  assert.equal(ro[0], 'refused');
  assert.match(ro[1]!, /NoNewPrivs:\s+1/);
  assert.equal(ro[2]!.trim(), '0', '/proc/timer_list is masked');
  assert.equal(ro[3], 'sys-readonly');
  const custom = await inContainer('cat /etc/hostname; wc -c < /etc/hostname', { masked_paths: ['/etc/hostname'] });
  assert.equal(custom[custom.length - 1]!.trim(), '0');
});

test('seccomp: unconfined, runtime default and a localhost profile', async () => {
  const unconfined = await inContainer('grep Seccomp: /proc/self/status', { seccomp: { profile_type: 'Unconfined' } });
  assert.match(unconfined[0]!, /Seccomp:\s+0/);
  const byDefault = await inContainer('grep Seccomp: /proc/self/status', { seccomp: { profile_type: 'RuntimeDefault' } });
  assert.match(byDefault[0]!, /Seccomp:\s+2/);
  const legacy = await inContainer('grep Seccomp: /proc/self/status', { seccomp_profile_path: 'runtime/default' });
  assert.match(legacy[0]!, /Seccomp:\s+2/);
  const profile = join(d.dir, 'block-chmod.json');
  writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['chmod', 'fchmodat', 'fchmodat2'], action: 'SCMP_ACT_ERRNO' }] }));
  const local = await inContainer('touch /tmp/f; chmod 600 /tmp/f 2>&1 || echo chmod-refused', { seccomp: { profile_type: 'Localhost', localhost_ref: profile } });
  assert.ok(local.includes('chmod-refused'), local.join('|'));
});

test('invalid security settings are refused and leave nothing behind', async () => {
  const before = ((await d.cri.runtime.call('ListContainers', {})) as { containers: unknown[] }).containers.length;
  const attempts: [Message, number][] = [
    [{ capabilities: { add_capabilities: ['CAP_FLY'] } }, status.INVALID_ARGUMENT],
    [{ seccomp: { profile_type: 'Localhost', localhost_ref: join(d.dir, 'missing.json') } }, status.NOT_FOUND],
    [{ seccomp_profile_path: 'my/profile' }, status.INVALID_ARGUMENT],
    [{ apparmor: { profile_type: 'Localhost', localhost_ref: 'my-profile' } }, status.INVALID_ARGUMENT],
    [{ selinux_options: { level: 's0:c1,c2' } }, status.INVALID_ARGUMENT],
    [{ namespace_options: { pid: 'TARGET', target_id: 'no-such-container' } }, status.NOT_FOUND],
  ];
  for (const [sc, code] of attempts) {
    await assert.rejects(
      d.cri.runtime.call('CreateContainer', { pod_sandbox_id: podId, config: containerConfig(`bad-${seq++}`, ['true'], { linux: { security_context: sc } }) }),
      { code },
      JSON.stringify(sc),
    );
  }
  const after = ((await d.cri.runtime.call('ListContainers', {})) as { containers: unknown[] }).containers.length;
  assert.equal(after, before);
});

test('a container refused once its runtime was started leaves no runtime waiting for its spec', async () => {
  const before = ((await d.cri.runtime.call('ListContainers', {})) as { containers: unknown[] }).containers.length;
  // The daemon's pipes: the spec pipe of a failed call must be closed with it.
  const pipes = (): number => readdirSync(`/proc/${d.pid()}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${d.pid()}/fd/${fd}`).startsWith('pipe:');
    } catch {
      return false;
    }
  }).length;
  const pipesBefore = pipes();
  // The device is looked at while the spec is made, after `runc create` has started.
  const devices = [{ container_path: '/dev/gone', host_path: join(d.dir, 'no-such-device'), permissions: 'rwm' }];
  for (let i = 0; i < 3; i++) {
    await assert.rejects(
      d.cri.runtime.call('CreateContainer', { pod_sandbox_id: podId, config: containerConfig(`bad-${seq++}`, ['true'], { devices }) }),
      { code: status.INVALID_ARGUMENT },
    );
  }
  const root = join(d.stateDir, 'runc');
  assert.deepEqual(processesWhere((argv) => argv.includes('create') && argv.includes(`--root=${root}`)), [], 'runc create processes');
  await waitFor('the daemon\'s pipes to be closed', () => (pipes() <= pipesBefore ? true : undefined), 5_000);
  const after = ((await d.cri.runtime.call('ListContainers', {})) as { containers: unknown[] }).containers.length;
  assert.equal(after, before);
});

test('a PID namespace TARGET joins the target container', async () => {
  const target = await startContainer(d, podId, pod, containerConfig(`target-${seq++}`, ['sleep', '3600']));
  const out = await inContainer('ps -o comm | grep -c sleep', { namespace_options: { pid: 'TARGET', target_id: target } });
  assert.equal(out[0], '1');
});

test('the pod security context applies to the pause process', async () => {
  const secured = podConfig(d, 'secured-pod', {
    linux: { cgroup_parent: `/${TEST_CGROUP_PARENT}`, security_context: { run_as_user: { value: 1000 }, run_as_group: { value: 3000 }, supplemental_groups: [4000], seccomp: { profile_type: 'RuntimeDefault' } } },
  });
  const { id } = await runPod(d, secured);
  const status = readFileSync(`/proc/${d.runcState(id)!.pid}/status`, 'utf8');
  assert.match(status, /^Uid:\s+1000\s/m);
  assert.match(status, /^Gid:\s+3000\s/m);
  assert.match(status, /^Groups:\s+4000\s*$/m);
  assert.match(status, /^Seccomp:\s+2$/m);
  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
});
