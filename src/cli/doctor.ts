// `cricket doctor`: what this node needs for cricket, each check with its fix.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CricketConfig } from '../config/config.js';
import { defaultNetworkConfig, findPluginBinary, listConfFiles, parseNetworkConfig, type CniNetworkConfList } from '../network/config.js';
import { findProgram } from '../process/find-program.js';
import { BUILT_IN_MONITOR, monitorProgram } from '../oci/monitor-program.js';
import { VersionRequest, type VersionResponse } from '../gen/runtime/v1/api.js';
import { connectCri } from './cri-client.js';

export const DOCTOR_USAGE = `usage: cricket doctor [options]

Checks this node for what cricket needs and says how to fix what is missing: runc, the container
monitor (built in, or a conmon the config names), the CNI
plugins and configuration, overlayfs, cgroups (version and controllers), namespaces, IP
forwarding, the daemon's socket, free space under the root. Exits 1 when a required check fails.

options:
  --config FILE      config file (default /etc/cricket/config.toml)
  --socket PATH      CRI socket (default /run/cricket/cricket.sock)
  --root DIR         the daemon's persistent state (default /var/lib/cricket)
  --cni-conf-dir DIR CNI configuration (default /etc/cni/net.d)
  --cni-bin-dir DIRS CNI plugins, colon-separated (default /opt/cni/bin:/usr/lib/cni)
  --runc PATH, --conmon PATH
  -h, --help         this text
`;

export interface Check {
  name: string;
  ok: boolean;
  /** A failed required check makes doctor exit 1; others are warnings. */
  required: boolean;
  detail: string;
  fix?: string;
}

const pass = (name: string, detail: string): Check => ({ name, ok: true, required: true, detail });
const fail = (name: string, detail: string, fix: string, required = true): Check => ({ name, ok: false, required, detail, fix });

function programCheck(name: string, program: string, pkg: string): Check {
  try {
    const path = findProgram(program);
    let version = '';
    try {
      version = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]!.trim();
    } catch {
      return fail(name, `${path} does not run (--version failed)`, `reinstall it: apt-get install --reinstall ${pkg}`);
    }
    return pass(name, `${path} (${version})`);
  } catch {
    return fail(name, `${program} not found on PATH`, `apt-get install ${pkg}, or set "${name}" in the config to its path`);
  }
}

/** The per-container monitor: cricket's own (built with cricket), or the conmon the config names. */
function monitorCheck(configured: string): Check {
  if (configured !== BUILT_IN_MONITOR) return programCheck('monitor', configured, 'conmon');
  try {
    return pass('monitor', `built-in ${monitorProgram(configured)}`);
  } catch (err) {
    return fail('monitor', (err as Error).message, 'npm run build (it builds native/cricket-monitor.c)');
  }
}

function cniChecks(config: CricketConfig): Check[] {
  const files = listConfFiles(config.cni.confDir);
  let network: CniNetworkConfList;
  let source: string;
  const checks: Check[] = [];
  if (!files.length) {
    network = defaultNetworkConfig({ bridge: config.cni.defaultBridge, subnet: config.cni.defaultSubnet });
    source = 'the embedded network';
    checks.push(pass('CNI config', `none in ${config.cni.confDir}: cricket's own bridge ${config.cni.defaultBridge} on ${config.cni.defaultSubnet}`));
  } else {
    source = files[0]!;
    try {
      network = parseNetworkConfig(readFileSync(source, 'utf8'), source);
      checks.push(pass('CNI config', `${source} (network ${network.name})`));
    } catch (err) {
      return [fail('CNI config', (err as Error).message, `fix or remove ${source}; without any file cricket uses its own bridge network`)];
    }
  }
  const ipam = (p: Record<string, unknown>) => (p.ipam && typeof (p.ipam as { type?: unknown }).type === 'string' ? [(p.ipam as { type: string }).type] : []);
  const types = [...new Set(network.plugins.flatMap((p) => [p.type, ...ipam(p)]))];
  const missing = types.filter((t) => !findPluginBinary(t, config.cni.binDirs));
  if (missing.length) {
    checks.push(fail('CNI plugins', `${missing.join(', ')} not found in ${config.cni.binDirs.join(':')} (needed by ${source})`,
      `apt-get install containernetworking-plugins, or copy ${missing.join(', ')} into one of ${config.cni.binDirs.join(', ')}`));
  } else {
    checks.push(pass('CNI plugins', `${types.join(', ')} in ${config.cni.binDirs.join(':')}`));
  }
  return checks;
}

function overlayCheck(): Check {
  const fs = readFileSync('/proc/filesystems', 'utf8');
  if (/\toverlay$/m.test(fs)) return pass('overlayfs', 'overlay is in /proc/filesystems');
  return fail('overlayfs', 'the kernel has no overlay filesystem loaded', 'modprobe overlay (and add "overlay" to /etc/modules-load.d/)');
}

function cgroupChecks(): Check[] {
  const isV2 = (() => {
    try {
      return existsSync('/sys/fs/cgroup/cgroup.controllers');
    } catch {
      return false;
    }
  })();
  const needed = ['cpu', 'memory', 'pids'];
  if (isV2) {
    const controllers = readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').trim().split(/\s+/);
    const missing = needed.filter((c) => !controllers.includes(c));
    return [
      pass('cgroup version', 'v2 (unified)'),
      missing.length
        ? fail('cgroup controllers', `missing ${missing.join(', ')} in /sys/fs/cgroup/cgroup.controllers`, `enable them: echo "+${missing.join(' +')}" > /sys/fs/cgroup/cgroup.subtree_control, or boot with cgroup_enable=${missing.join(',')}`)
        : pass('cgroup controllers', controllers.join(' ')),
    ];
  }
  const enabled = readFileSync('/proc/cgroups', 'utf8').split('\n').slice(1).map((l) => l.split('\t')).filter((f) => f[3] === '1').map((f) => f[0]!);
  const v1Needed = [...needed, 'cpuacct', 'devices', 'freezer'];
  const mounted = v1Needed.filter((c) => enabled.includes(c) && existsSync(`/sys/fs/cgroup/${c}`));
  const missing = v1Needed.filter((c) => !mounted.includes(c));
  return [
    pass('cgroup version', 'v1 (legacy or hybrid)'),
    missing.length
      ? fail('cgroup controllers', `missing or not mounted: ${missing.join(', ')}`, `mount them under /sys/fs/cgroup (e.g. mount -t cgroup -o ${missing[0]} cgroup /sys/fs/cgroup/${missing[0]}), or boot with systemd.unified_cgroup_hierarchy=1`)
      : pass('cgroup controllers', mounted.join(' ')),
  ];
}

function namespacesCheck(): Check {
  const missing = ['net', 'ipc', 'uts', 'pid', 'mnt'].filter((ns) => !existsSync(`/proc/self/ns/${ns}`));
  if (missing.length) return fail('namespaces', `the kernel lacks ${missing.join(', ')} namespaces`, 'use a kernel built with CONFIG_NAMESPACES and the missing ones');
  return pass('namespaces', 'net ipc uts pid mnt');
}

function ipForwardCheck(): Check {
  const value = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  if (value === '1') return pass('ip_forward', 'net.ipv4.ip_forward = 1');
  return fail('ip_forward', 'net.ipv4.ip_forward = 0: pods cannot reach beyond the node', 'sysctl -w net.ipv4.ip_forward=1 (and set it in /etc/sysctl.d/)', false);
}

async function socketCheck(socket: string): Promise<Check> {
  const fix = 'start the daemon: cricket serve (or systemctl start cricket)';
  try {
    if (!lstatSync(socket).isSocket()) return fail('socket', `${socket} is not a socket`, `remove it and ${fix}`, false);
  } catch {
    return fail('socket', `${socket} does not exist`, fix, false);
  }
  const cri = connectCri(socket);
  try {
    const v = await cri.call<VersionRequest, VersionResponse>(cri.runtime, 'version', VersionRequest.fromPartial({ version: 'v1' }), 5000);
    return pass('socket', `${socket}: ${v.runtimeName} ${v.runtimeVersion} (CRI ${v.runtimeApiVersion})`);
  } catch (err) {
    return fail('socket', `${socket} does not answer: ${(err as Error).message}`, fix, false);
  } finally {
    cri.close();
  }
}

const GiB = 1024 ** 3;

function spaceCheck(root: string): Check {
  let dir = root;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  if (!statSync(dir).isDirectory()) return fail('free space', `${dir} is not a directory`, `point root at a directory`);
  const st = statfsSync(dir);
  const free = st.bavail * st.bsize;
  const text = `${(free / GiB).toFixed(1)} GiB free under ${root}${dir !== root ? ` (on ${dir})` : ''}`;
  if (free < 100 * 1024 ** 2) return fail('free space', text, 'free space or point root at a bigger filesystem: images and writable layers live there');
  if (free < 2 * GiB) return fail('free space', text, 'images and writable layers live there: 2 GiB or more is advised', false);
  return pass('free space', text);
}

export async function runChecks(config: CricketConfig): Promise<Check[]> {
  const safely = (name: string, f: () => Check | Check[]): Check[] => {
    try {
      const r = f();
      return Array.isArray(r) ? r : [r];
    } catch (err) {
      return [fail(name, `could not check: ${(err as Error).message}`, 'see the message')];
    }
  };
  return [
    ...safely('runc', () => programCheck('runc', config.runc, 'runc')),
    ...safely('monitor', () => monitorCheck(config.conmon)),
    ...safely('CNI', () => cniChecks(config)),
    ...safely('overlayfs', overlayCheck),
    ...safely('cgroups', cgroupChecks),
    ...safely('namespaces', namespacesCheck),
    ...safely('ip_forward', ipForwardCheck),
    await socketCheck(config.socket),
    ...safely('free space', () => spaceCheck(config.root)),
  ];
}

export async function doctorCommand(flags: Record<string, string>, config: CricketConfig): Promise<number> {
  if (flags.help) {
    process.stdout.write(DOCTOR_USAGE);
    return 0;
  }
  const checks = await runChecks(config);
  const width = Math.max(...checks.map((c) => c.name.length));
  for (const c of checks) {
    const mark = c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn';
    process.stdout.write(`${mark}  ${c.name.padEnd(width)}  ${c.detail}\n`);
    if (!c.ok && c.fix) process.stdout.write(`      ${' '.repeat(width)}  fix: ${c.fix}\n`);
  }
  const failed = checks.filter((c) => !c.ok && c.required);
  process.stdout.write(failed.length ? `\n${failed.length} required check(s) failed\n` : '\nall required checks passed\n');
  return failed.length ? 1 : 0;
}
