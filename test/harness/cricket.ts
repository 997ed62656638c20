// Starts a real cricket daemon on private directories for one test file, and tears it down
// checking that nothing it made is left behind.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { after, before } from 'node:test';
import { createWriteStream, type WriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { criClients, type CriClients, type Message } from '../client/cri.js';
import { STATE_TMPFS_SOURCE } from '../../src/daemon/volatile-state.js';
import { mountsAt } from '../../src/process/mount-table.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const CRICKET = join(REPO, 'bin', 'cricket');
export const BUSYBOX_LAYOUT = join(REPO, 'build', 'images', 'busybox');
export const BUSYBOX = 'cricket.local/busybox:latest';
/**
 * CRICKET_TEST_SLOT=N (1-200) lets several runs of the suite share one machine: each slot has its
 * own bridge, subnet, directory prefix and cgroup parent, and its leftover check sees only its own.
 */
const SLOT = Number.parseInt(process.env.CRICKET_TEST_SLOT ?? '0', 10) || 0;
if (SLOT < 0 || SLOT > 200) throw new Error(`CRICKET_TEST_SLOT must be 0-200, not ${process.env.CRICKET_TEST_SLOT}`);
/** The pod network of the tests: a bridge and subnet of their own, nothing shared with the host. */
export const TEST_BRIDGE = `ckt${SLOT}`;
export const TEST_SUBNET = `10.99.${SLOT}.0/24`;
export const TEST_PREFIX = SLOT ? `/tmp/cricket-t${SLOT}-` : '/tmp/cricket-test-';
/**
 * A second bridge and subnet of the slot, for a daemon that may re-address its bridge (the fuzz
 * campaign sends UpdateRuntimeConfig with odd pod CIDRs): the slot's own bridge stays as the
 * other test files expect it. Whoever uses it removes the bridge after.
 */
export const ISOLATED_NETWORK = { bridge: `ckf${SLOT}`, subnet: `10.95.${SLOT}.0/24` };

/**
 * `base` and the bridges the daemon made after it (`base-1`, `base-2`…, when a pod CIDR change
 * found pods still on the old one), as they exist on the host now.
 */
export function bridgeAndGenerations(base: string): string[] {
  const generation = new RegExp(`^${base}-\\d+$`);
  return readdirSync('/sys/class/net').filter((name) => name === base || generation.test(name));
}
/** Test pods live under their own cgroup parent, as kubelet's pods live under /kubepods. */
export const TEST_CGROUP_PARENT = SLOT ? `cricket-t${SLOT}` : 'cricket-test';

export interface TestDaemon {
  dir: string;
  socket: string;
  root: string;
  stateDir: string;
  cri: CriClients;
  /** `runc state` of a container or pod id, in this daemon's runc root. */
  runcState(id: string): { pid: number; status: string } | undefined;
  /** Stops the daemon process only (pods keep running), for restart tests. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the daemon again on the same directories. */
  restart(): Promise<void>;
  /** Removes every pod, stops the daemon and checks that nothing was left behind. */
  stop(): Promise<void>;
  logFile: string;
  /** Pid of the Node daemon (for its memory, say). */
  pid(): number;
  /** Pid of the process the harness started: cricket-init, which passes signals on to the daemon. */
  servePid(): number;
  /** The harness's end of the extra descriptor `cricket serve` was started with, if asked for. */
  inheritedEnd(): Readable | undefined;
  /** Starts taking the daemon's stderr into logFile, if it was left unread (stderrUnread). */
  readStderr(): void;
}

export function cricketCli(args: string[]): string {
  return execFileSync(process.execPath, [CRICKET, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface StartOptions {
  /** A CNI network configuration list for the daemon; by default it uses its embedded network. */
  cniConfList?: (dir: string) => Record<string, unknown>;
  /** Extra plugin directories, searched before the system ones. */
  cniBinDirs?: (dir: string) => string[];
  /** Content of the daemon's config file; none by default. */
  configToml?: string;
  /** Runs on the fresh test directory before anything is written into it (mount a filesystem). */
  prepare?: (dir: string) => void;
  /** Runs after the daemon is stopped, before the leftover check (unmount what prepare mounted). */
  release?: (dir: string) => void;
  /** The daemon's bridge and subnet; the slot's TEST_BRIDGE and TEST_SUBNET by default. */
  network?: { bridge: string; subnet: string };
  /** Extra environment of the daemon (CRICKET_LOG_LEVEL, say); its log level is info otherwise. */
  env?: Record<string, string>;
  /** Starts `cricket serve` with one more descriptor open (fd 3), as a careless caller leaves one. */
  extraInheritedFd?: boolean;
  /** The umask `cricket serve` is started with (the test runner's own by default). */
  umask?: number;
  /** Leaves the daemon's stderr (a socket pair, as Node makes stdio pipes) unread until readStderr() (a reader that stopped). */
  stderrUnread?: boolean;
}

export async function startCricket(opts: StartOptions = {}): Promise<TestDaemon> {
  const dir = mkdtempSync(TEST_PREFIX);
  opts.prepare?.(dir);
  const socket = join(dir, 'cricket.sock');
  const root = join(dir, 'root');
  const stateDir = join(dir, 'state');
  const confDir = join(dir, 'net.d');
  const logFile = join(dir, 'daemon.log');
  const args = [
    CRICKET, 'serve', '--socket', socket, '--root', root, '--state-dir', stateDir,
    '--cni-conf-dir', confDir, '--cni-bridge', opts.network?.bridge ?? TEST_BRIDGE, '--pod-subnet', opts.network?.subnet ?? TEST_SUBNET,
    '--config', opts.configToml === undefined ? '/dev/null' : join(dir, 'config.toml'),
  ];
  if (opts.configToml !== undefined) writeFileSync(join(dir, 'config.toml'), opts.configToml);
  if (opts.cniConfList) {
    mkdirSync(confDir, { recursive: true });
    writeFileSync(join(confDir, '10-test.conflist'), JSON.stringify(opts.cniConfList(dir)));
  }
  if (opts.cniBinDirs) args.push('--cni-bin-dir', [...opts.cniBinDirs(dir), '/opt/cni/bin', '/usr/lib/cni'].join(':'));
  let child: ChildProcess | undefined;
  let log: WriteStream | undefined;
  // Piped once: a piped stream is flowing.
  const readStderr = () => {
    if (child?.stderr && log && child.stderr.readableFlowing !== true) child.stderr.pipe(log);
  };
  const launch = async () => {
    log = createWriteStream(logFile, { flags: 'a' });
    // The daemon's own log goes to its file in full, whatever level the test runner uses.
    const stdio: ('ignore' | 'pipe')[] = ['ignore', 'ignore', 'pipe', ...(opts.extraInheritedFd ? ['pipe' as const] : [])];
    // A child takes its parent's umask when it is made.
    const runnerUmask = opts.umask === undefined ? undefined : process.umask(opts.umask);
    try {
      child = spawn(process.execPath, args, { stdio, env: { ...process.env, CRICKET_LOG_LEVEL: 'info', ...opts.env } });
    } finally {
      if (runnerUmask !== undefined) process.umask(runnerUmask);
    }
    if (!opts.stderrUnread) readStderr();
    // The first gRPC call is made once the socket takes connections: a client whose first try
    // found no socket waits out its reconnect backoff, a second or so, after the daemon is up.
    for (let i = 0; !(await acceptsConnections(socket)); i++) {
      if (child.exitCode !== null) throw new Error(`cricket exited with ${child.exitCode}: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
      if (i > 2000) throw new Error(`cricket did not listen on ${socket}`);
      await sleep(10);
    }
    // Version is retried: after a SIGKILL the old daemon, on its way out, may still hold the socket
    // that took the connection above.
    const cri = criClients(socket, { deadlineMs: 5000 });
    try {
      for (let i = 0; ; i++) {
        if (child.exitCode !== null) throw new Error(`cricket exited with ${child.exitCode}: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
        try {
          await cri.runtime.call('Version', {});
          return;
        } catch {
          if (i > 200) throw new Error(`cricket did not answer on ${socket}`);
          await sleep(50);
        }
      }
    } finally {
      cri.close();
    }
  };
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  // The daemon ended (SIGTERM: the init wrapper passes it on, where a SIGKILL would orphan the
  // daemon under it), then what it keeps on the host for a next start.
  const dismantle = async () => {
    // A daemon flushes its log as it exits: a pipe nobody reads would hold it there.
    readStderr();
    await kill();
    releaseStateTmpfs(stateDir);
    opts.release?.(dir);
  };
  try {
    cricketCli(['image', 'import', BUSYBOX_LAYOUT, '--name', BUSYBOX, '--root', root]);
    await launch();
  } catch (err) {
    // A daemon that never came up leaves nothing behind either: its directory goes with it.
    await dismantle();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const cri = criClients(socket);
  return {
    dir, socket, root, stateDir, cri, logFile,
    pid: () => daemonPid(child!.pid!),
    servePid: () => child!.pid!,
    inheritedEnd: () => (opts.extraInheritedFd ? (child!.stdio[3] as Readable) : undefined),
    readStderr: () => readStderr(),
    runcState(id) {
      try {
        const out = execFileSync('runc', ['--root', join(stateDir, 'runc'), 'state', id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
        return JSON.parse(out) as { pid: number; status: string };
      } catch {
        return undefined;
      }
    },
    kill,
    restart: launch,
    async stop() {
      try {
        const { items } = await cri.runtime.call<{ items: Message[] }>('ListPodSandbox', {});
        for (const pod of items) {
          await cri.runtime.call('StopPodSandbox', { pod_sandbox_id: pod.id });
          await cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: pod.id });
        }
      } finally {
        cri.close();
        await dismantle();
      }
      assertNothingLeftUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function acceptsConnections(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** `cricket serve` runs the daemon as the one child of cricket-init, the process it started as. */
function daemonPid(servePid: number): number {
  try {
    if (readFileSync(`/proc/${servePid}/comm`, 'utf8').trim() !== 'cricket-init') return servePid;
    const children = readFileSync(`/proc/${servePid}/task/${servePid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    return children.find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('node')) ?? servePid;
  } catch {
    return servePid;
  }
}

/**
 * The daemon puts an empty state dir on a tmpfs of its own and leaves it there when it stops, as
 * pods may outlive it; a test's daemon is gone for good, so its tmpfs goes too.
 */
export function releaseStateTmpfs(stateDir: string): void {
  if (mountsAt(stateDir).some((m) => m.source === STATE_TMPFS_SOURCE)) execFileSync('umount', [stateDir]);
}

/** Mounts (overlay rootfs, pinned netns), runc containers and IP reservations of one daemon. */
export function assertNothingLeftUnder(dir: string): void {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes(dir));
  if (mounts.length) throw new Error(`mounts left under ${dir}:\n${mounts.join('\n')}`);
  const runcRoot = join(dir, 'state', 'runc');
  const runcLeft = existsSync(runcRoot) ? readdirSync(runcRoot) : [];
  if (runcLeft.length) throw new Error(`runc containers left: ${runcLeft.join(', ')}`);
  // Other runtime handlers (crun) keep their containers under state/runtimes/<handler>.
  const handlersRoot = join(dir, 'state', 'runtimes');
  for (const handler of existsSync(handlersRoot) ? readdirSync(handlersRoot) : []) {
    const left = readdirSync(join(handlersRoot, handler)).filter((f) => !f.startsWith('.'));
    if (left.length) throw new Error(`${handler} containers left: ${left.join(', ')}`);
  }
  const reservations = ipReservations(join(dir, 'root', 'cni'));
  if (reservations.length) throw new Error(`IP reservations left: ${reservations.join(', ')}`);
}

/** host-local keeps one file per reserved IP, named by the address. */
export function ipReservations(dataDir: string): string[] {
  if (!existsSync(dataDir)) return [];
  const left: string[] = [];
  for (const network of readdirSync(dataDir)) {
    for (const f of readdirSync(join(dataDir, network))) if (/^[0-9a-f.:]+$/.test(f) && (f.includes('.') || f.includes(':'))) left.push(`${network}/${f}`);
  }
  return left;
}

/** Polls until `check` returns a value, within a bounded time. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * A daemon for the whole test file: started before its first test, stopped (with the leftover
 * checks) after its last. The returned object forwards to that daemon.
 */
export function useCricket(opts: StartOptions = {}): TestDaemon {
  let daemon: TestDaemon | undefined;
  before(async () => {
    daemon = await startCricket(opts);
  });
  after(async () => {
    await daemon?.stop();
  });
  return new Proxy({} as TestDaemon, {
    get(_target, key) {
      if (!daemon) throw new Error('the test daemon is not started yet (use it inside a test)');
      const value: unknown = Reflect.get(daemon, key);
      return typeof value === 'function' ? value.bind(daemon) : value;
    },
  });
}
