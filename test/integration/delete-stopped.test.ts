// A container whose init has ended is deleted without starting runc: its cgroups and runc's state
// directory go; anything more (a live init, a process left in a cgroup, a state runc did not
// write) is left for runc. Real runc, containers of the test's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteStoppedDirectly, stoppedDeletePlan } from '../../src/oci/delete-stopped.js';
import { Runc } from '../../src/oci/runc.js';
import { findProgram } from '../../src/process/find-program.js';
import { TEST_CGROUP_PARENT, TEST_PREFIX, waitFor } from '../harness/cricket.js';

const PAUSE = fileURLToPath(new URL('../../../build/native/pause', import.meta.url));
const runcBin = findProgram('runc');

interface Rig {
  dir: string;
  root: string;
  bundle: string;
  runc: (...args: string[]) => string;
}

/** A runc root and a bundle whose rootfs holds only the static pause binary. */
function rig(): Rig {
  const dir = mkdtempSync(`${TEST_PREFIX}delstop-`);
  const root = join(dir, 'runc');
  const bundle = join(dir, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  copyFileSync(PAUSE, join(bundle, 'rootfs', 'pause'));
  execFileSync(runcBin, ['spec', '--bundle', bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as {
    process: { terminal: boolean; args: string[] };
    root: { readonly: boolean };
    linux: { cgroupsPath?: string };
  };
  spec.process.terminal = false;
  spec.process.args = ['/pause'];
  spec.root.readonly = true;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const runc = (...args: string[]): string => execFileSync(runcBin, ['--root', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { dir, root, bundle, runc };
}

function runContainer(r: Rig, id: string): { pid: number; cgroups: string[] } {
  const spec = JSON.parse(readFileSync(join(r.bundle, 'config.json'), 'utf8')) as { linux: { cgroupsPath?: string } };
  spec.linux.cgroupsPath = `/${TEST_CGROUP_PARENT}/${id}`;
  writeFileSync(join(r.bundle, 'config.json'), JSON.stringify(spec));
  // The container keeps the stdio it is given: /dev/null, so that nothing waits for its end.
  execFileSync(runcBin, ['--root', r.root, 'run', '--detach', '--bundle', r.bundle, id], { stdio: 'ignore' });
  const state = JSON.parse(readFileSync(join(r.root, id, 'state.json'), 'utf8')) as { init_process_pid: number; cgroup_paths: Record<string, string> };
  return { pid: state.init_process_pid, cgroups: Object.values(state.cgroup_paths) };
}

function statusOf(r: Rig, id: string): string | undefined {
  try {
    return (JSON.parse(r.runc('state', id)) as { status: string }).status;
  } catch {
    return undefined;
  }
}

async function killInit(r: Rig, id: string, pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await waitFor(`container ${id} to stop`, () => (statusOf(r, id) === 'stopped' ? true : undefined));
}

test('a container whose init ended is deleted here; a running one and an unknown id are not', async () => {
  const r = rig();
  const id = `delstop-${process.pid}-a`;
  try {
    const { pid, cgroups } = runContainer(r, id);
    assert.ok(cgroups.length > 0 && cgroups.every((c) => existsSync(c)));
    assert.equal(await deleteStoppedDirectly(r.root, id), 'ask-runc', 'a running container is runc\'s');
    assert.equal(statusOf(r, id), 'running');
    await killInit(r, id, pid);
    assert.equal(await deleteStoppedDirectly(r.root, id), 'deleted');
    assert.equal(statusOf(r, id), undefined, 'runc still knows the container');
    assert.deepEqual(cgroups.filter((c) => existsSync(c)), [], 'cgroups left');
    assert.ok(!existsSync(join(r.root, id)));
    assert.equal(await deleteStoppedDirectly(r.root, id), 'gone');
  } finally {
    try {
      r.runc('delete', '--force', id);
    } catch {
      // Deleted by the test.
    }
    rmSync(r.dir, { recursive: true, force: true });
  }
});

test('a process left in a cgroup, or a state file that is a link, is left for runc', async (t) => {
  const r = rig();
  const id = `delstop-${process.pid}-b`;
  const stray = spawn('sleep', ['600'], { stdio: 'ignore' });
  t.after(() => stray.kill('SIGKILL'));
  try {
    const { pid, cgroups } = runContainer(r, id);
    await killInit(r, id, pid);
    // A process that outlived init (a shared PID namespace) holds one of the cgroups.
    const pidsCgroup = cgroups.find((c) => c.includes('/pids/')) ?? cgroups[0]!;
    writeFileSync(join(pidsCgroup, 'cgroup.procs'), String(stray.pid));
    assert.equal(await deleteStoppedDirectly(r.root, id), 'ask-runc');
    assert.equal(statusOf(r, id), 'stopped', 'the state was touched');
    assert.ok(existsSync(pidsCgroup));
    stray.kill('SIGKILL');
    await waitFor('the stray process to leave the cgroup', () => (readFileSync(join(pidsCgroup, 'cgroup.procs'), 'utf8').trim() === '' ? true : undefined));

    // state.json swapped for a link to a copy: not read.
    const state = join(r.root, id, 'state.json');
    renameSync(state, join(r.dir, 'state-copy.json'));
    symlinkSync(join(r.dir, 'state-copy.json'), state);
    assert.equal(await deleteStoppedDirectly(r.root, id), 'ask-runc');
    rmSync(state);
    renameSync(join(r.dir, 'state-copy.json'), state);

    // runc's own forced delete finishes what was left, through the same entry point.
    const runc = new Runc(runcBin, r.root, 10_000, 'runc', {
      recursiveReadOnlyMounts: false,
      userNamespaces: false,
      execFifoStart: true,
      deletesStoppedDirectly: true,
      readsSpecOnce: true,
      copiesItselfAtInit: false,
      notes: [],
    });
    await runc.deleteForce(id);
    assert.equal(statusOf(r, id), undefined);
    assert.deepEqual(cgroups.filter((c) => existsSync(c)), []);
  } finally {
    try {
      r.runc('delete', '--force', id);
    } catch {
      // Deleted by the test.
    }
    rmSync(r.dir, { recursive: true, force: true });
  }
});

test('the plan takes only what runc 1.x writes, with nothing but cgroups to remove', () => {
  const base = {
    init_process_pid: 42,
    init_process_start: 12345,
    config: {},
    cgroup_paths: { '': '/sys/fs/cgroup/unified/p/c', pids: '/sys/fs/cgroup/pids/p/c', cpu: '/sys/fs/cgroup/cpu/p/c' },
    intel_rdt_path: '',
  };
  assert.deepEqual(stoppedDeletePlan(base), { initPid: 42, initStart: 12345, cgroupPaths: ['/sys/fs/cgroup/unified/p/c', '/sys/fs/cgroup/pids/p/c', '/sys/fs/cgroup/cpu/p/c'] });
  assert.equal(stoppedDeletePlan({ ...base, init_process_start: '12345' })?.initStart, 12345);
  assert.ok(stoppedDeletePlan({ ...base, config: { hooks: { poststop: [] } } }), 'empty hook lists are no hooks');
  for (const [what, state] of [
    ['a poststop hook', { ...base, config: { hooks: { poststop: [{ path: '/bin/true' }] } } }],
    ['an Intel RDT group', { ...base, intel_rdt_path: '/sys/fs/resctrl/c' }],
    ['cgroups managed by systemd', { ...base, config: { cgroups: { Systemd: true } } }],
    ['a cgroup outside /sys/fs/cgroup', { ...base, cgroup_paths: { pids: '/etc' } }],
    ['a path that climbs out', { ...base, cgroup_paths: { pids: '/sys/fs/cgroup/pids/../../../etc' } }],
    ['the cgroup root itself', { ...base, cgroup_paths: { pids: '/sys/fs/cgroup/' } }],
    ['a relative path', { ...base, cgroup_paths: { pids: 'sys/fs/cgroup/pids/c' } }],
    ['no pid', { ...base, init_process_pid: 0 }],
    ['a start that is not a number', { ...base, init_process_start: 'soon' }],
    ['no config', { ...base, config: undefined }],
    ['not an object', 'state'],
  ] as const) {
    assert.equal(stoppedDeletePlan(state), undefined, what);
  }
});
