// cricket on a full disk: its root, then its state dir, on a small tmpfs that a container fills.
// The daemon stays up, calls that need space fail with RESOURCE_EXHAUSTED naming the step and the
// path, reads keep working, an image import or pull leaves nothing half written, an exit that
// happens meanwhile is not lost, and once space is freed new pods and containers start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { status as grpcStatus } from '@grpc/grpc-js';
import { REPO, cricketCli, startCricket, waitFor, type TestDaemon } from '../harness/cricket.js';
import { containerConfig, containerStatus, podConfig, runPod, startContainer } from '../harness/pods.js';
import { buildImage, layerBlob, libs, startRegistry, type TestRegistry } from '../harness/registry.js';
import type { Message } from '../client/cri.js';
import { processesWhere } from '../harness/processes.js';

/** Room for the busybox and pause images and the records, and a few MiB for the filler. */
const ROOT_FS_SIZE = '16m';
/** Room for runc's state, bundles and exit files of a few containers. */
const STATE_FS_SIZE = '4m';

function mounted(path: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === path);
}

/** Busy (a container's overlay still on it): left mounted, for the leftover check to report. */
function unmount(path: string): void {
  for (let i = 0; i < 20 && mounted(path); i++) {
    try {
      execFileSync('umount', [path], { stdio: 'ignore' });
    } catch {
      execFileSync('sleep', ['0.2']);
    }
  }
}

/**
 * A daemon whose directories are on a small tmpfs mounted by the test; `layout` mounts it and
 * returns what to unmount, innermost first. Cleanup frees the disk first: removing pods needs
 * a little room, and a test that failed half-way leaves it full.
 */
async function withDaemon(layout: (dir: string) => string[], fill: (dir: string) => string, body: (d: TestDaemon) => Promise<void>): Promise<void> {
  let mounts: string[] = [];
  let d: TestDaemon | undefined;
  let failure: unknown;
  try {
    d = await startCricket({
      prepare(dir) {
        mounts = layout(dir);
      },
      release: () => mounts.forEach(unmount),
    });
    await body(d);
  } catch (err) {
    failure = err;
  }
  try {
    try {
      if (d) rmSync(fill(d.dir), { force: true });
    } catch {
      // Nothing was filled.
    }
    await d?.stop();
  } catch (err) {
    // The test's own failure says more than the cleanup's that follows from it.
    failure ??= err;
  } finally {
    // Also when the daemon never started.
    mounts.forEach(unmount);
  }
  if (failure) throw failure;
}

let reg: TestRegistry | undefined;
/** An image of 2 MiB that does not compress: more than a full disk can take. */
let bigImage = '';

before(async () => {
  const { tar } = await libs();
  reg = await startRegistry();
  const layer = layerBlob(tar.tarArchive([{ path: 'big', type: 'file', mode: 0o644, data: randomBytes(2 * 1024 * 1024) }]));
  await reg.push('apps/big', buildImage([layer]), 'v1');
  bigImage = `${reg.host}/apps/big:v1`;
  // The daemons trust the test's CA the way Node programs are told to.
  process.env.NODE_EXTRA_CA_CERTS = reg.ca.caCert;
});
after(async () => {
  await reg?.stop();
});

function tmpfs(path: string, size: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', path]);
}

function freeBytes(path: string): number {
  const st = statfsSync(path);
  return st.bavail * st.bsize;
}

async function rejection(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: number; details: string };
  }
  assert.fail('the call succeeded on a full disk');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every path under dir, relative, with its size for files: to see that nothing changed. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    for (const e of readdirSync(p, { withFileTypes: true })) {
      const child = join(p, e.name);
      // The lock file comes and goes with every operation on the store.
      if (e.name === 'lock') continue;
      out.push(e.isDirectory() ? `${relative(dir, child)}/` : relative(dir, child));
      if (e.isDirectory()) walk(child);
    }
  };
  walk(dir);
  return out.sort();
}

test('a full root disk: the daemon stays up, writes fail clearly, reads work, and it catches up', () =>
  withDaemon(
    (dir) => {
      tmpfs(join(dir, 'root'), ROOT_FS_SIZE);
      return [join(dir, 'root')];
    },
    // The filler's file in its writable layer.
    (dir) => join(dir, 'root', 'rw', readdirSync(join(dir, 'root', 'rw')).find((id) => existsSync(join(dir, 'root', 'rw', id, 'upper', 'big'))) ?? '-', 'upper', 'big'),
    (d) => rootDiskFull(d, join(d.dir, 'root')),
  ));

async function rootDiskFull(d: TestDaemon, rootMount: string): Promise<void> {
  const daemon = () => d;
  const cri = daemon().cri.runtime;
  const images = daemon().cri.image;
  const ctl = join(daemon().dir, 'ctl');
  mkdirSync(ctl);
  const pod = podConfig(daemon(), 'full-disk');
  const { id: podId } = await runPod(daemon(), pod);
  // Exits when the test says so, through a directory on another filesystem.
  const waiter = await startContainer(daemon(), podId, pod, containerConfig('waiter', ['sh', '-c', 'while [ ! -e /ctl/go ]; do sleep 0.1; done; exit 7'], {
    mounts: [{ container_path: '/ctl', host_path: ctl, readonly: true }],
  }));
  // Made now, started on the full disk.
  const { container_id: starter } = await cri.call<{ container_id: string }>('CreateContainer', {
    pod_sandbox_id: podId, config: containerConfig('starter', ['sleep', '3600']), sandbox_config: pod,
  });
  // Writes into its writable layer, which lives under cricket's root, until the disk is full.
  const filler = await startContainer(daemon(), podId, pod, containerConfig('filler', ['sh', '-c', 'while [ ! -e /ctl/fill ]; do sleep 0.1; done; dd if=/dev/zero of=/big bs=65536; sleep 3600'], {
    mounts: [{ container_path: '/ctl', host_path: ctl, readonly: true }],
  }));
  // Record writes reuse spare files and the pages these hold, so a record can still be written
  // on a full disk; without spares every record write needs space, as the calls below must.
  for (const kind of ['sandboxes', 'containers']) {
    for (const name of readdirSync(join(daemon().root, kind))) if (name.startsWith('.spare-')) rmSync(join(daemon().root, kind, name));
  }
  writeFileSync(join(ctl, 'fill'), '');
  await waitFor('the root filesystem to fill up', () => (freeBytes(rootMount) < 64 * 1024 ? true : undefined), 60_000);

  // Calls that need space fail with RESOURCE_EXHAUSTED, saying where and why.
  const create = await rejection(cri.call('CreateContainer', { pod_sandbox_id: podId, config: containerConfig('late', ['true']), sandbox_config: pod }));
  assert.equal(create.code, grpcStatus.RESOURCE_EXHAUSTED, create.details);
  assert.match(create.details, /no space left on device/);
  assert.match(create.details, /CreateContainer late/);
  assert.ok(create.details.includes(rootMount), `the path is named: ${create.details}`);
  const run = await rejection(cri.call('RunPodSandbox', { config: podConfig(daemon(), 'full-disk-2') }));
  assert.equal(run.code, grpcStatus.RESOURCE_EXHAUSTED, run.details);
  assert.match(run.details, /no space left on device/);
  assert.match(run.details, /RunPodSandbox default\/full-disk-2/);
  assert.ok(run.details.includes(rootMount), `the path is named: ${run.details}`);

  // A start that cannot be recorded is undone: the record never says less than the truth.
  const start = await rejection(cri.call('StartContainer', { container_id: starter }));
  assert.equal(start.code, grpcStatus.RESOURCE_EXHAUSTED, start.details);
  assert.match(start.details, /StartContainer .*recording the start.*no space left on device/);
  await waitFor('the unrecorded start to be killed', () => ((daemon().runcState(starter)?.status ?? 'stopped') === 'stopped' ? true : undefined), 15_000);

  // An image import fails and leaves the store as it was: no temp files, layers or index entries.
  const { makeLayer, makeImage, writeLayout } = (await import(pathToFileURL(join(REPO, 'images/lib/oci.mjs')).href)) as {
    makeLayer(entries: Array<{ path: string; data?: Buffer }>): unknown;
    makeImage(spec: { ref: string; config: Record<string, unknown>; layers: unknown[] }): unknown;
    writeLayout(dir: string, image: unknown): void;
  };
  const layout = join(daemon().dir, 'big-image');
  writeLayout(layout, makeImage({ ref: 'cricket.local/big:1', config: { Cmd: ['sh'] }, layers: [makeLayer([{ path: 'big', data: randomBytes(2 * 1024 * 1024) }])] }));
  const store = join(daemon().root, 'images');
  const before = tree(store);
  assert.throws(() => cricketCli(['image', 'import', layout, '--name', 'cricket.local/big:1', '--root', daemon().root]), /no space left on device/);
  assert.deepEqual(tree(store), before);
  // So does a pull, through the daemon.
  const pull = await rejection(images.call('PullImage', { image: { image: bigImage } }, { deadlineMs: 60_000 }));
  assert.equal(pull.code, grpcStatus.RESOURCE_EXHAUSTED, pull.details);
  assert.match(pull.details, /no space left on device/);
  assert.deepEqual(tree(store), before);
  const listed = await images.call<{ images: { repo_tags: string[] }[] }>('ListImages', {});
  assert.ok(!listed.images.some((i) => i.repo_tags.includes('cricket.local/big:1') || i.repo_tags.includes(bigImage)));

  // The container exits while nothing can be written: the exit is not lost.
  writeFileSync(join(ctl, 'go'), '');
  await waitFor('the exit monitor to meet the full disk', () => (readFileSync(daemon().logFile, 'utf8').includes('recording a container exit failed') ? true : undefined), 30_000);

  // Reads keep working and the daemon is alive.
  assert.ok(alive(daemon().pid()));
  await cri.call('Version', {});
  const pods = await cri.call<{ items: Message[] }>('ListPodSandbox', {});
  assert.equal(pods.items.length, 1);
  const containers = await cri.call<{ containers: Message[] }>('ListContainers', {});
  assert.equal(containers.containers.length, 3);
  await cri.call('PodSandboxStatus', { pod_sandbox_id: podId });
  assert.equal((await containerStatus(daemon(), filler)).state, 'CONTAINER_RUNNING');
  await cri.call('ListContainerStats', {});

  // Space comes back: the exit is recorded, new pods and containers can be made.
  await cri.call('ExecSync', { container_id: filler, cmd: ['rm', '/big'], timeout: 30 }, { deadlineMs: 40_000 });
  assert.ok(freeBytes(rootMount) > 1024 * 1024);
  const exited = await waitFor('the exit to be recorded', async () => {
    const s = await containerStatus(daemon(), waiter);
    return s.state === 'CONTAINER_EXITED' ? s : undefined;
  }, 30_000);
  assert.equal(exited.exit_code, 7);
  const killed = await waitFor('the killed start to be recorded', async () => {
    const s = await containerStatus(daemon(), starter);
    return s.state === 'CONTAINER_EXITED' ? s : undefined;
  }, 30_000);
  assert.equal(killed.exit_code, 137);
  const late = await startContainer(daemon(), podId, pod, containerConfig('late', ['sleep', '3600']));
  assert.equal((await containerStatus(daemon(), late)).state, 'CONTAINER_RUNNING');
  await images.call('PullImage', { image: { image: bigImage } }, { deadlineMs: 60_000 });
  const second = await runPod(daemon(), podConfig(daemon(), 'full-disk-2'));
  assert.ok(second.ip);
  assert.ok(alive(daemon().pid()));
  // Writes that failed left no temp files behind.
  for (const kind of ['sandboxes', 'containers']) {
    assert.deepEqual(readdirSync(join(daemon().root, kind)).filter((n) => n.includes('.tmp-')), [], kind);
  }
}

test('a full state disk (bundles, runc state, exit files): pods and containers fail clearly, and it catches up', () =>
  withDaemon(
    (dir) => {
      // One small filesystem holds cricket's state dir and a pod's hostPath volume.
      tmpfs(join(dir, 'disk'), STATE_FS_SIZE);
      mkdirSync(join(dir, 'disk', 'state'), { mode: 0o700 });
      mkdirSync(join(dir, 'disk', 'volume'));
      mkdirSync(join(dir, 'state'), { mode: 0o700 });
      execFileSync('mount', ['--bind', join(dir, 'disk', 'state'), join(dir, 'state')]);
      return [join(dir, 'state'), join(dir, 'disk')];
    },
    (dir) => join(dir, 'disk', 'volume', 'big'),
    (d) => stateDiskFull(d),
  ));

async function stateDiskFull(d: TestDaemon): Promise<void> {
  const cri = d.cri.runtime;
  const disk = join(d.dir, 'disk');
  const ctl = join(d.dir, 'ctl');
  mkdirSync(ctl);
  const pod = podConfig(d, 'full-state');
  const { id: podId } = await runPod(d, pod);
  const waiter = await startContainer(d, podId, pod, containerConfig('waiter', ['sh', '-c', 'while [ ! -e /ctl/go ]; do sleep 0.1; done; exit 7'], {
    mounts: [{ container_path: '/ctl', host_path: ctl, readonly: true }],
  }));
  const filler = await startContainer(d, podId, pod, containerConfig('filler', ['sh', '-c', 'while [ ! -e /ctl/fill ]; do sleep 0.1; done; dd if=/dev/zero of=/volume/big bs=65536; sleep 3600'], {
    mounts: [{ container_path: '/ctl', host_path: ctl, readonly: true }, { container_path: '/volume', host_path: join(disk, 'volume') }],
  }));
  writeFileSync(join(ctl, 'fill'), '');
  await waitFor('the state filesystem to fill up', () => (freeBytes(disk) < 64 * 1024 ? true : undefined), 60_000);

  const run = await rejection(cri.call('RunPodSandbox', { config: podConfig(d, 'full-state-2') }));
  assert.equal(run.code, grpcStatus.RESOURCE_EXHAUSTED, run.details);
  assert.match(run.details, /RunPodSandbox default\/full-state-2: .*no space left on device/);
  assert.ok(run.details.includes(d.stateDir), `the path is named: ${run.details}`);
  const create = await rejection(cri.call('CreateContainer', { pod_sandbox_id: podId, config: containerConfig('late', ['true']), sandbox_config: pod }));
  assert.equal(create.code, grpcStatus.RESOURCE_EXHAUSTED, create.details);
  assert.match(create.details, /CreateContainer late .*no space left on device/);
  assert.ok(create.details.includes(d.stateDir), `the path is named: ${create.details}`);
  // runc, started before its spec was written, has ended with each call.
  const runcRoot = join(d.stateDir, 'runc');
  assert.deepEqual(processesWhere((argv) => (argv.includes('create') || argv.includes('run')) && (argv.includes(runcRoot) || argv.includes(`--root=${runcRoot}`))), [], 'runc processes');

  writeFileSync(join(ctl, 'go'), '');
  assert.ok(alive(d.pid()));
  assert.equal((await cri.call<{ items: Message[] }>('ListPodSandbox', {})).items.length, 1);
  assert.equal((await cri.call<{ containers: Message[] }>('ListContainers', {})).containers.length, 2);
  await cri.call('PodSandboxStatus', { pod_sandbox_id: podId });
  assert.equal((await containerStatus(d, filler)).state, 'CONTAINER_RUNNING');

  // conmon could not write the exit code: the exit is still noticed, its code unknown.
  const exited = await waitFor('the exit to be noticed', async () => {
    const s = await containerStatus(d, waiter);
    return s.state === 'CONTAINER_EXITED' ? s : undefined;
  }, 45_000);
  assert.equal(exited.exit_code, 255);
  assert.match((exited as unknown as { message: string }).message, /exit code unknown/);

  // The operator frees the volume.
  rmSync(join(disk, 'volume', 'big'));
  const late = await startContainer(d, podId, pod, containerConfig('late', ['sleep', '3600']));
  assert.equal((await containerStatus(d, late)).state, 'CONTAINER_RUNNING');
  const second = await runPod(d, podConfig(d, 'full-state-2'));
  assert.ok(second.ip);
  assert.ok(alive(d.pid()));
}
