import { constants, fstatSync, lstatSync, openSync, closeSync, readSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { bootId, checkProcess } from '../process/identity.js';

/** runc's state.json is a few KB; anything far larger is not one. */
const MAX_STATE_BYTES = 4 << 20;
const CGROUP_ROOT = '/sys/fs/cgroup/';

/** What came of a delete done here. */
export type DirectDelete =
  /** The container's cgroups and runc's state directory are gone. */
  | 'deleted'
  /** runc has no state for that id: nothing to delete. */
  | 'gone'
  /** Nothing settled here (init alive, a hook, a busy cgroup, an unknown state): ask runc. */
  | 'ask-runc';

/** The fields of runc 1.x's state.json that a delete of a stopped container needs. */
export interface StoppedDeletePlan {
  initPid: number;
  initStart: number;
  cgroupPaths: string[];
}

/**
 * The plan for deleting a container from its runc 1.x state.json, or undefined when the state
 * asks for more than removing cgroups and the state directory: poststop hooks to run, an Intel
 * RDT group, systemd-managed cgroups, or fields that are not what runc writes. Pure, for unit tests.
 */
export function stoppedDeletePlan(state: unknown): StoppedDeletePlan | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const s = state as Record<string, unknown>;
  const initPid = s.init_process_pid;
  const initStart = typeof s.init_process_start === 'string' ? Number(s.init_process_start) : s.init_process_start;
  if (!Number.isSafeInteger(initPid) || (initPid as number) <= 0) return undefined;
  if (!Number.isSafeInteger(initStart) || (initStart as number) < 0) return undefined;
  if (s.intel_rdt_path) return undefined;
  const config = s.config;
  if (typeof config !== 'object' || config === null) return undefined;
  // A systemd-managed cgroup is a unit too, which only runc (through systemd) stops.
  const cgroupConfig = (config as Record<string, unknown>).cgroups;
  if (typeof cgroupConfig === 'object' && cgroupConfig !== null && (cgroupConfig as Record<string, unknown>).Systemd === true) return undefined;
  const hooks = (config as Record<string, unknown>).hooks;
  if (hooks !== undefined && hooks !== null) {
    if (typeof hooks !== 'object') return undefined;
    if (Object.values(hooks).some((list) => !Array.isArray(list) || list.length > 0)) return undefined;
  }
  const cgroups = s.cgroup_paths;
  if (typeof cgroups !== 'object' || cgroups === null || Array.isArray(cgroups)) return undefined;
  const cgroupPaths: string[] = [];
  for (const path of Object.values(cgroups)) {
    // Only directories below the node's cgroup mounts are ever removed here.
    if (typeof path !== 'string' || !isAbsolute(path) || normalize(path) !== path || !path.startsWith(CGROUP_ROOT)) return undefined;
    if (path.length <= CGROUP_ROOT.length || path.split('/').includes('..')) return undefined;
    cgroupPaths.push(path);
  }
  return { initPid: initPid as number, initStart: initStart as number, cgroupPaths: [...new Set(cgroupPaths)] };
}

/** state.json as runc left it: a regular file, not followed through a link, of a bounded size. */
function readState(path: string): { text: string } | 'missing' | 'unreadable' {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_STATE_BYTES) return 'unreadable';
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return { text: buffer.subarray(0, read).toString('utf8') };
  } catch {
    return 'unreadable';
  } finally {
    closeSync(fd);
  }
}

/**
 * What `runc delete` does for a container whose init has ended, done without starting runc (a Go
 * program, several milliseconds of CPU, on every container stop and pod stop): its cgroups are
 * removed and its state directory with them. Only when runc 1.x's state says that is all there
 * is to do and the recorded init (pid and start time, from that state) is no longer running;
 * everything else (a live init, a process left in a cgroup, a hook) is left to runc, which
 * kills what is left and runs the hooks. The state file lives on the runtime root, root's alone.
 */
export async function deleteStoppedDirectly(runtimeRoot: string, id: string): Promise<DirectDelete> {
  const dir = join(runtimeRoot, id);
  const state = readState(join(dir, 'state.json'));
  if (state === 'missing') {
    // No directory at all: runc would say "does not exist". A directory without its state is
    // runc's to judge.
    return lstatSync(dir, { throwIfNoEntry: false }) === undefined ? 'gone' : 'ask-runc';
  }
  if (state === 'unreadable') return 'ask-runc';
  let parsed: unknown;
  try {
    parsed = JSON.parse(state.text);
  } catch {
    return 'ask-runc';
  }
  const plan = stoppedDeletePlan(parsed);
  if (!plan) return 'ask-runc';
  if ((await checkProcess(plan.initPid, { startTime: plan.initStart, bootId: bootId() })) === 'running') return 'ask-runc';
  // A cgroup that still holds a process (one that outlived init in a shared PID namespace) or
  // a child cgroup refuses rmdir: runc then kills and removes.
  const removed = await Promise.all(
    plan.cgroupPaths.map((path) =>
      rmdir(path).then(
        () => true,
        (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
      ),
    ),
  );
  if (removed.includes(false)) return 'ask-runc';
  await rm(dir, { recursive: true, force: true });
  return 'deleted';
}
