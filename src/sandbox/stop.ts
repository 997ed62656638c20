import { withContext } from '../errors.js';
import { stopContainer } from '../container/stop.js';
import { logger, stopwatch } from '../log/logger.js';
import { signalProcess, waitProcessExit } from '../process/identity.js';
import { removePinnedNetns } from '../network/netns.js';
import { unmountPodShm } from '../pod/shm.js';
import type { RuntimeContext } from '../runtime-context.js';
import { nowNs } from '../store/clock.js';
import { podNetworkRequest } from '../pod/network-request.js';
import type { SandboxRecord } from '../store/types.js';

const PAUSE_EXIT_WAIT_MS = 2000;

/**
 * StopPodSandbox: every container of the pod is killed, then the pause process; the pod's IP is
 * released and its netns unpinned. Safe to repeat, and a sandbox already removed is not an error.
 */
export async function stopPodSandbox(ctx: RuntimeContext, sandboxId: string): Promise<void> {
  const found = ctx.sandboxes.find(sandboxId);
  if (!found) return;
  const id = found.id;
  const t = stopwatch();
  await ctx.locks.run(id, async () => {
    const record = ctx.sandboxes.get(id);
    if (!record) return;
    // A completed stop cleared all of this; RemovePodSandbox after StopPodSandbox (kubelet's
    // order) then needs no second `runc delete` of a pause that is gone.
    if (stoppedBefore(ctx, record)) return;
    const log = logger.child({ pod: id });
    const steps: Record<string, number> = {};
    // The network does not depend on any process of the pod (the netns is pinned), so it is torn
    // down while the processes are being killed.
    const network = (async () => {
      if (!record.netnsPath) return;
      const s = stopwatch();
      await ctx.network.tearDown(podNetworkRequest(record), record.cniResult, record.cniConfig).catch((err) => {
        throw withContext(`StopPodSandbox ${id}: CNI DEL on network ${ctx.network.name}`, err);
      });
      await removePinnedNetns(record.netnsPath);
      steps.cniDelMs = s();
    })();
    const processes = (async () => {
      const s = stopwatch();
      const containers = ctx.containers.byGroup(id);
      await Promise.all(containers.map((c) => stopContainer(ctx, c.id, 0)));
      steps.containersMs = s();
      // Killing pause directly and waiting for it is much quicker than `runc delete --force`,
      // which polls for the exit in 100 ms steps; runc then only removes its state.
      // Only if the pid still names the pause cricket started (a stranger may hold it after a
      // crash of pause or a reboot); otherwise runc, which checks its own record, does the rest.
      if (record.pausePid && (await signalProcess(record.pausePid, record.pauseStart, 'SIGKILL'))) {
        await waitProcessExit(record.pausePid, record.pauseStart, PAUSE_EXIT_WAIT_MS);
      }
      await ctx.runtimes.forSandbox(record).deleteForce(id).catch((err) => {
        throw withContext(`StopPodSandbox ${id}: removing pause`, err);
      });
      // A container that was created and never started keeps its own bind of it until removed.
      if (record.shmPath) {
        await unmountPodShm(record.shmPath).catch((err) => {
          throw withContext(`StopPodSandbox ${id}: unmounting the pod's /dev/shm`, err);
        });
      }
      steps.pauseMs = s();
    })();
    const [net, procs] = await Promise.allSettled([network, processes]);
    if (net.status === 'rejected') throw net.reason;
    if (procs.status === 'rejected') throw procs.reason;
    if (record.state !== 'notready' || record.netnsPath || record.undoLeft) {
      // No IP is reported once CNI has released it.
      await ctx.sandboxes.update(id, (current) => ({
        ...current,
        state: 'notready',
        netnsPath: '',
        ips: [],
        cniResult: undefined,
        cniConfig: undefined,
        pausePid: 0,
        pauseStart: undefined,
        undoLeft: undefined,
      }));
      ctx.events.emit({ type: 'stopped', containerId: id, sandboxId: id, at: nowNs() });
    }
    log.info({ step: 'stop', ms: t(), ...steps }, 'pod sandbox stopped');
  });
}

/** Whether an earlier stop finished: its last update cleared the pause pid, netns and undo list. */
function stoppedBefore(ctx: RuntimeContext, record: Readonly<SandboxRecord>): boolean {
  return (
    record.state === 'notready' &&
    !record.pausePid &&
    !record.netnsPath &&
    !record.undoLeft &&
    ctx.containers.byGroup(record.id).every((c) => c.state === 'exited')
  );
}
