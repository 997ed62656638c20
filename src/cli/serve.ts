import { loadConfig } from '../config/config.js';
import { installProcessGuards } from '../daemon/process-guards.js';
import { startDaemon } from '../daemon/start.js';
import { logger } from '../log/logger.js';

/** `cricket serve`: runs the daemon in the foreground until SIGINT or SIGTERM. */
export async function serveCommand(flags: Record<string, string>): Promise<number> {
  installProcessGuards();
  const config = loadConfig(flags);
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
