#!/usr/bin/env node
// npm run spec-diff: sends the same CRI requests to a private reference containerd (Debian's,
// CRI plugin) and to a private cricket, reads the config.json each wrote for every pod and
// container, normalises ids and paths, and prints their differences field by field. Everything
// it starts or makes is removed at the end, also after a failure.
//
// Run as root, after `npm run build`. CRICKET_TEST_SLOT=<n> picks the bridges ckd<n>/ckc<n> and
// subnets 10.98.<n>.0/24 (containerd) and 10.97.<n>.0/24 (cricket).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BUSYBOX, criClient as criClientAt, deleteBridge, ensureContainerd, startReferenceContainerd, stopChild as stopChildLogged, waitForSocket as waitForSocketAt,
} from './reference-containerd.mjs';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const slot = Number.parseInt(process.env.CRICKET_TEST_SLOT ?? '0', 10) || 0;
const log = (msg) => process.stderr.write(`[spec-diff] ${msg}\n`);

if (process.getuid?.() !== 0) {
  console.error('spec-diff starts container runtimes and must run as root');
  process.exit(1);
}
for (const image of ['busybox', 'pause']) {
  if (!existsSync(join(repo, 'build', 'images', `${image}.oci.tar`))) {
    console.error(`build/images/${image}.oci.tar is missing: run npm run build first`);
    process.exit(1);
  }
}
ensureContainerd(log);

const criClient = (socket) => criClientAt(repo, socket);
const waitForSocket = (socket, child, what) => waitForSocketAt(repo, socket, child, what);
const stopChild = (child, what) => stopChildLogged(child, what, log);

// ---- the two runtimes ---------------------------------------------------------------------------

const work = mkdtempSync(`/tmp/cricket-specdiff-${slot}-`);
const cgroupParent = `cricket-specdiff${slot}`;
// Steps run last first: the pods' cgroup parent goes once both runtimes are gone.
const undo = [removeCgroupParent];

function removeCgroupParent() {
  const base = '/sys/fs/cgroup';
  const dirs = existsSync(join(base, 'cgroup.controllers')) ? [join(base, cgroupParent)] : readdirSync(base).map((c) => join(base, c, cgroupParent));
  for (const dir of dirs) if (existsSync(dir)) rmdirSync(dir);
}
const cleanup = async () => {
  for (const step of undo.reverse()) {
    try {
      await step();
    } catch (err) {
      log(`cleanup: ${err.message}`);
    }
  }
  rmSync(work, { recursive: true, force: true });
};

async function startContainerd() {
  const containerd = await startReferenceContainerd({ repo, dir: join(work, 'containerd'), bridge: `ckd${slot}`, subnet: `10.98.${slot}.0/24`, log });
  undo.push(containerd.stop);
  return containerd;
}

async function startCricket() {
  const dir = join(work, 'cricket');
  const confDir = join(dir, 'net.d');
  mkdirSync(confDir, { recursive: true });
  const socket = join(dir, 'cricket.sock');
  const root = join(dir, 'root');
  const stateDir = join(dir, 'state');
  const bridge = `ckc${slot}`;
  const cli = join(repo, 'bin', 'cricket');
  execFileSync(cli, ['image', 'import', join(repo, 'build', 'images', 'busybox'), '--name', BUSYBOX, '--root', root], { stdio: 'ignore' });
  const child = spawn(cli, ['serve', '--socket', socket, '--root', root, '--state-dir', stateDir, '--cni-conf-dir', confDir,
    '--cni-bridge', bridge, '--pod-subnet', `10.97.${slot}.0/24`, '--config', '/dev/null'], { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, CRICKET_LOG_LEVEL: 'fatal' } });
  undo.push(async () => {
    await stopChild(child, 'cricket');
    // The daemon left its state tmpfs mounted, as it does for pods that outlive it.
    if (readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === stateDir)) execFileSync('umount', [stateDir]);
    deleteBridge(bridge);
  });
  await waitForSocket(socket, child, 'cricket');
  return {
    name: 'cricket',
    socket,
    configOf: (id) => join(stateDir, 'containers', id, 'config.json'),
    podConfigOf: (id) => join(stateDir, 'sandboxes', id, 'bundle', 'config.json'),
  };
}

// ---- the requests -------------------------------------------------------------------------------

const profilePath = join(work, 'deny-chmod.json');
writeFileSync(profilePath, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['chmod', 'fchmodat'], action: 'SCMP_ACT_ERRNO' }] }));

function podRequest(name, extra = {}) {
  return {
    metadata: { name, namespace: 'specdiff', uid: `specdiff-${name}-uid`, attempt: 0 },
    hostname: name,
    log_directory: join(work, 'logs', name),
    labels: { app: name },
    linux: { cgroup_parent: `/${cgroupParent}`, ...(extra.linux ?? {}) },
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'linux')),
  };
}

function containerRequest(name, command, extra = {}) {
  return { metadata: { name, attempt: 0 }, image: { image: BUSYBOX }, command, log_path: `${name}.log`, ...extra };
}

const sc = (securityContext) => ({ linux: { security_context: securityContext } });
const emptyDir = join(work, 'volumes', 'shared-data');
const CASES = [
  {
    pod: podRequest('two-containers'),
    containers: [
      containerRequest('nginx', ['httpd', '-f', '-p', '80', '-h', '/usr/share/nginx/html'], { mounts: [{ container_path: '/usr/share/nginx/html', host_path: emptyDir }] }),
      containerRequest('writer', ['sh', '-c', 'echo hello > /pod-data/index.html'], { mounts: [{ container_path: '/pod-data', host_path: emptyDir }] }),
      containerRequest('readonly-rootfs', ['top'], sc({ readonly_rootfs: true })),
      containerRequest('caps-add-drop', ['top'], sc({ capabilities: { add_capabilities: ['NET_ADMIN'], drop_capabilities: ['CHOWN'] } })),
      containerRequest('caps-drop-all', ['top'], sc({ capabilities: { add_capabilities: ['NET_BIND_SERVICE'], drop_capabilities: ['ALL'] } })),
      containerRequest('caps-add-all', ['top'], sc({ capabilities: { add_capabilities: ['ALL'] } })),
      containerRequest('seccomp-runtime-default', ['top'], sc({ seccomp: { profile_type: 'RuntimeDefault' } })),
      containerRequest('seccomp-unconfined', ['top'], sc({ seccomp: { profile_type: 'Unconfined' } })),
      containerRequest('seccomp-localhost', ['top'], sc({ seccomp: { profile_type: 'Localhost', localhost_ref: profilePath } })),
      containerRequest('user-by-id', ['top'], sc({ run_as_user: { value: '1000' }, run_as_group: { value: '3000' }, supplemental_groups: ['4000'] })),
      containerRequest('resources', ['top'], { linux: { resources: { cpu_period: '100000', cpu_quota: '50000', cpu_shares: '512', memory_limit_in_bytes: '268435456', oom_score_adj: '500', cpuset_cpus: '0' } } }),
      containerRequest('env-workdir', [], { args: ['sh', '-c', 'true'], working_dir: '/tmp', envs: [{ key: 'A', value: Buffer.from('1') }] }),
    ],
  },
  {
    pod: podRequest('sidecar-proxy'),
    containers: [
      containerRequest('app', ['sh', '-c', 'exec httpd -f -p 127.0.0.1:5000 -h /tmp']),
      containerRequest('proxy', ['nc', '-ll', '-p', '80', '-e', 'nc', '127.0.0.1', '5000']),
    ],
  },
  {
    pod: podRequest('privileged', { linux: { security_context: { privileged: true } } }),
    containers: [containerRequest('privileged', ['top'], sc({ privileged: true }))],
  },
  {
    pod: podRequest('host-namespaces', { hostname: '', linux: { security_context: { namespace_options: { network: 'NODE', pid: 'NODE', ipc: 'NODE' } } } }),
    containers: [containerRequest('hostns', ['top'], sc({ namespace_options: { network: 'NODE', pid: 'NODE', ipc: 'NODE' } }))],
  },
  {
    pod: podRequest('seccomp-pod', { linux: { security_context: { seccomp: { profile_type: 'RuntimeDefault' }, namespace_options: { pid: 'POD' } } } }),
    containers: [containerRequest('shared-pid', ['top'], sc({ namespace_options: { pid: 'POD' } }))],
  },
];

/**
 * cricket writes the bundle at CreateContainer; containerd only when the task is made, at
 * StartContainer. A container that does not start leaves no bundle there: then the spec containerd
 * stored for it (verbose ContainerStatus, the same object it would write) stands in.
 */
async function containerConfigJson(runtime, cri, id) {
  if (!existsSync(runtime.configOf(id))) {
    await cri.call('StartContainer', { container_id: id }).catch((err) => log(`${runtime.name}: ${err.message}`));
  }
  if (existsSync(runtime.configOf(id))) return JSON.parse(readFileSync(runtime.configOf(id), 'utf8'));
  const status = await cri.call('ContainerStatus', { container_id: id, verbose: true });
  return JSON.parse(status.info.info ?? '{}').runtimeSpec;
}

async function runCases(runtime) {
  const cri = criClient(runtime.socket);
  const specs = {};
  const made = [];
  try {
    for (const c of CASES) {
      mkdirSync(c.pod.log_directory, { recursive: true });
      const { pod_sandbox_id: podId } = await cri.call('RunPodSandbox', { config: c.pod, runtime_handler: '' });
      made.push(podId);
      const pod = c.pod.metadata.name;
      const ids = { [podId]: `<pod ${pod}>` };
      const podSpec = JSON.parse(readFileSync(runtime.podConfigOf(podId), 'utf8'));
      specs[`${pod}/pause`] = { spec: podSpec, ids };
      for (const container of c.containers) {
        const { container_id: id } = await cri.call('CreateContainer', { pod_sandbox_id: podId, config: container, sandbox_config: c.pod });
        ids[id] = `<container ${container.metadata.name}>`;
        specs[`${pod}/${container.metadata.name}`] = { spec: await containerConfigJson(runtime, cri, id), ids };
      }
    }
  } finally {
    for (const podId of made) {
      await cri.call('StopPodSandbox', { pod_sandbox_id: podId }).catch((err) => log(`${runtime.name}: ${err.message}`));
      await cri.call('RemovePodSandbox', { pod_sandbox_id: podId }).catch((err) => log(`${runtime.name}: ${err.message}`));
    }
    cri.close();
  }
  return specs;
}

// ---- normalising and comparing ------------------------------------------------------------------

/** Ids become names, runtime paths become placeholders, so that only real differences remain. */
function normalise(value, ids) {
  let text = JSON.stringify(value);
  for (const [id, name] of Object.entries(ids)) text = text.split(id).join(name);
  text = text
    .replace(/\/proc\/\d+\/ns\//g, '/proc/<pause>/ns/')
    .replace(/"[^"]*\/netns\/[^"]*"/g, '"<netns>"')
    .replace(/"[^"]*\/(hosts|resolv\.conf|hostname|shm)"/g, '"<pod dir>/$1"')
    .split(work).join('<work>');
  // `false` and `[]` mean what an absent field means (runc reads them alike): left out.
  const spec = JSON.parse(text, (_key, v) => (v === false || (Array.isArray(v) && v.length === 0) ? undefined : v));
  // containerd names the root relative to the bundle, cricket absolutely: both are the rootfs.
  if (spec?.root) spec.root.path = '<rootfs>';
  return spec;
}

/** A flat map path -> value; lists of mounts, namespaces, devices and env keyed by what names them. */
function flatten(value, path = '', out = new Map()) {
  if (Array.isArray(value)) {
    const keyOf = (item) => (item && typeof item === 'object' ? item.destination ?? item.type ?? item.path : undefined);
    if (path.endsWith('.env')) {
      for (const e of value) out.set(`${path}.${e.slice(0, e.indexOf('='))}`, e.slice(e.indexOf('=') + 1));
    } else if (path.includes('seccomp.syscalls')) {
      const byAction = {};
      for (const rule of value) for (const n of rule.names ?? []) (byAction[`${rule.action}${rule.args?.length ? ' (with args)' : ''}`] ??= []).push(n);
      for (const [action, names] of Object.entries(byAction)) out.set(`${path}[${action}]`, names.sort());
    } else if (value.every((v) => typeof v !== 'object') || path.endsWith('resources.devices') || path.endsWith('linux.devices')) {
      out.set(path, path.endsWith('devices') ? value.map((d) => JSON.stringify(d)).sort() : [...value].sort());
    } else if (value.every((v) => keyOf(v) !== undefined)) {
      for (const item of value) flatten(item, `${path}[${keyOf(item)}]`, out);
    } else {
      out.set(path, value);
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, value);
  }
  return out;
}

function show(v) {
  if (v === undefined) return '(absent)';
  const text = JSON.stringify(v);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

function compare(a, b) {
  const fa = flatten(a);
  const fb = flatten(b);
  const lines = [];
  for (const key of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    const va = fa.get(key);
    const vb = fb.get(key);
    if (JSON.stringify(va) === JSON.stringify(vb)) continue;
    if (Array.isArray(va) && Array.isArray(vb)) {
      const onlyA = va.filter((x) => !vb.includes(x));
      const onlyB = vb.filter((x) => !va.includes(x));
      if (!onlyA.length && !onlyB.length) {
        lines.push(`  ${key}: same items, other order`);
        continue;
      }
      lines.push(`  ${key}: only containerd ${show(onlyA)}; only cricket ${show(onlyB)}`);
    } else {
      lines.push(`  ${key}: containerd ${show(va)}; cricket ${show(vb)}`);
    }
  }
  return lines;
}

// ---- main ---------------------------------------------------------------------------------------

let status = 0;
try {
  const containerd = await startContainerd();
  log('containerd is up');
  const cricket = await startCricket();
  log('cricket is up');
  const [ref, ours] = [await runCases(containerd), await runCases(cricket)];
  for (const name of Object.keys(ref)) {
    const lines = compare(normalise(ref[name].spec, ref[name].ids), normalise(ours[name]?.spec, ours[name]?.ids ?? {}));
    console.log(`\n== ${name}: ${lines.length ? `${lines.length} difference(s)` : 'same'}`);
    for (const line of lines) console.log(line);
  }
} catch (err) {
  console.error(`spec-diff failed: ${err.stack ?? err}`);
  status = 1;
} finally {
  await cleanup();
}
process.exit(status);
