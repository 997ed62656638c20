// A private reference containerd (Debian's, CRI plugin) for side-by-side runs: its own root,
// state, socket and config, the same CNI plugin directory as cricket, a private CNI conf dir with
// a bridge network of its own, and cricket's pause and busybox images imported from the OCI
// archives in build/images. stop() removes its pods, stops it by pid, unmounts what it left
// under its directory and deletes its bridge.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const BUSYBOX = 'cricket.local/busybox:latest';
export const PAUSE = 'cricket.local/pause:built-in';
export const CNI_BIN = ['/usr/lib/cni', '/opt/cni/bin'].filter((d) => existsSync(d));

/** Installs Debian's containerd when it is missing. */
export function ensureContainerd(log) {
  if (existsSync('/usr/bin/containerd') && existsSync('/usr/bin/ctr')) return;
  log('installing Debian\'s containerd');
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'containerd'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** A minimal CRI client from proto/ (independent of src/gen). */
export function criClient(repo, socket, deadlineMs = 60_000) {
  const def = protoLoader.loadSync('runtime/v1/api.proto', {
    keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [join(repo, 'proto')],
  });
  const v1 = grpc.loadPackageDefinition(def).runtime.v1;
  const client = new v1.RuntimeService(`unix://${socket}`, grpc.credentials.createInsecure());
  const call = (method, request) => new Promise((ok, fail) => {
    client[method](request, { deadline: Date.now() + deadlineMs }, (err, reply) => (err ? fail(new Error(`${method}: ${err.message}`)) : ok(reply)));
  });
  return { call, close: () => client.close() };
}

export async function waitForSocket(repo, socket, child, what) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (existsSync(socket)) {
      const c = criClient(repo, socket);
      try {
        await c.call('Version', { version: 'v1' });
        return;
      } catch {
        // not serving yet
      } finally {
        c.close();
      }
    }
    await sleep(100);
  }
  throw new Error(`${what} did not come up on ${socket}`);
}

export async function stopChild(child, what, log) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((ok) => child.once('exit', ok));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
  log(`${what} stopped`);
}

/** The one child of the reaper `pid`: the daemon it runs. */
function reapedChild(pid) {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  if (children.length !== 1) throw new Error(`cricket-init ${pid} has ${children.length} children, not the daemon alone`);
  return children[0];
}

export function deleteBridge(name) {
  spawnSync('ip', ['link', 'del', name], { stdio: 'ignore' });
}

/**
 * Starts containerd under `dir` with bridge `bridge` on `subnet`. Returns its socket, pid, the
 * paths of the specs it writes, and stop().
 */
export async function startReferenceContainerd({ repo, dir, bridge, subnet, log, crun = false }) {
  ensureContainerd(log);
  // crun as a second runtime, started as cricket starts it: crun 1.8.1 refuses a hybrid cgroup
  // host whose cgroup2 side has controllers, so both go through cricket-mount without-unified.
  let crunRuntime = '';
  if (crun) {
    const wrapper = join(dir, 'crun');
    mkdirSync(dir, { recursive: true });
    writeFileSync(wrapper, `#!/bin/sh\nexec ${join(repo, 'build/native/cricket-mount')} without-unified /usr/bin/crun "$@"\n`, { mode: 0o755 });
    crunRuntime = `    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun.options]
        BinaryName = "${wrapper}"
        SystemdCgroup = false
`;
  }
  const confDir = join(dir, 'net.d');
  mkdirSync(confDir, { recursive: true });
  writeFileSync(join(confDir, '10-reference.conflist'), JSON.stringify({
    cniVersion: '0.4.0',
    name: `reference-${bridge}`,
    plugins: [
      { type: 'bridge', bridge, isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: join(dir, 'ipam') } },
      { type: 'loopback' },
    ],
  }));
  const socket = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  writeFileSync(config, `version = 2
root = "${dir}/root"
state = "${dir}/state"
oom_score = 0
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  tolerate_missing_hugetlb_controller = true
  disable_hugetlb_controller = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
${crunRuntime}  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN[0]}"
    conf_dir = "${confDir}"
    max_conf_num = 1
`);
  // Under cricket-init, a child subreaper, as cricket runs: the shims leave containerd and are
  // re-parented and reaped there instead of by the host's init, so what they spend, with the runc
  // calls and containers they reap, adds up in the reaper's children's CPU for the bench to read.
  const child = spawn(join(repo, 'build', 'native', 'cricket-init'), ['/usr/bin/containerd', '--config', config], { stdio: ['ignore', 'ignore', 'ignore'] });
  const stop = async () => {
    if (child.exitCode === null && existsSync(socket)) {
      // Pods left behind would keep their shims, mounts and netns after containerd exits.
      const c = criClient(repo, socket, 30_000);
      try {
        const { items } = await c.call('ListPodSandbox', {});
        for (const pod of items) {
          await c.call('StopPodSandbox', { pod_sandbox_id: pod.id }).catch((err) => log(`containerd: ${err.message}`));
          await c.call('RemovePodSandbox', { pod_sandbox_id: pod.id }).catch((err) => log(`containerd: ${err.message}`));
        }
      } catch (err) {
        log(`containerd: ${err.message}`);
      } finally {
        c.close();
      }
    }
    await stopChild(child, 'containerd', log);
    // Snapshots are overlay mounts under containerd's root: none may stay behind.
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m && m.startsWith(dir));
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    deleteBridge(bridge);
  };
  try {
    await waitForSocket(repo, socket, child, 'containerd');
    for (const image of ['busybox', 'pause']) {
      execFileSync('/usr/bin/ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'import', '--no-unpack', join(repo, 'build', 'images', `${image}.oci.tar`)], { stdio: 'ignore' });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const state = join(dir, 'state', 'io.containerd.runtime.v2.task', 'k8s.io');
  return {
    name: 'containerd', socket, pid: reapedChild(child.pid), reaperPid: child.pid, dir, stop,
    configOf: (id) => join(state, id, 'config.json'),
    podConfigOf: (id) => join(state, id, 'config.json'),
  };
}
