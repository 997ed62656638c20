import { loadConfig } from '../config/config.js';
import { ignoreStraySignals, installProcessGuards } from '../daemon/process-guards.js';
import { startDaemon } from '../daemon/start.js';
import { logger } from '../log/logger.js';
import type { InitWrapperState } from '../process/init-wrapper.js';
import { limitGoToolProcessors } from '../process/go-tool-env.js';

/** `cricket serve`: runs the daemon in the foreground until SIGINT or SIGTERM. */
export async function serveCommand(flags: Record<string, string>, init: InitWrapperState): Promise<number> {
  installProcessGuards();
  ignoreStraySignals();
  // The caller's umask would decide the modes of what cricket makes without naming one (a
  // container's log directory, a missing hostPath): a careless 000 would leave them writable by
  // every user of the node. 022, as a service manager gives.
  const callerUmask = process.umask(0o022);
  const config = loadConfig(flags);
  // Relative paths are resolved by now. conmon and pause outlive the daemon and start in its
  // working directory: left where the caller was, they would keep that file system from being
  // unmounted for as long as a container runs.
  process.chdir('/');
  // Inherited by every program the daemon runs (runc, the monitors, the CNI plugins).
  limitGoToolProcessors();
  if (init.initPid) logger.info({ initPid: init.initPid }, 'running under cricket-init, which reaps what cricket starts');
  else logger.warn({ reason: init.reason }, 'running without cricket-init: orphaned pause and conmon processes are left to the host init to reap');
  if (callerUmask !== 0o022) logger.info({ callerUmask: callerUmask.toString(8).padStart(3, '0') }, 'umask set to 022');
  const daemon = await startDaemon(config);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down; pods and containers keep running');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await daemon.close();
  return 0;
}
