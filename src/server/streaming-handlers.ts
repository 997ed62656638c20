import { invalidArgument } from '../errors.js';
import { execSync } from '../container/exec-sync.js';
import { reopenContainerLog } from '../container/reopen-log.js';
import type { RuntimeServiceServer } from '../gen/runtime/v1/api.js';
import type { RuntimeContext } from '../runtime-context.js';
import type { StreamingServer } from '../streaming/server.js';
import { unary } from './unary.js';

/** The RPCs of this module: ExecSync, Exec, Attach, PortForward and ReopenContainerLog. */
export function streamingHandlers(ctx: RuntimeContext, streaming: StreamingServer): Partial<RuntimeServiceServer> {
  const server = () => streaming;
  return {
    execSync: unary('ExecSync', async (req) => {
      const timeout = Number(req.timeout);
      if (timeout < 0) throw invalidArgument('timeout must not be negative');
      if (!req.containerId) throw invalidArgument('container_id is required');
      if (req.cmd.length === 0 || !req.cmd[0]) throw invalidArgument('cmd is required');
      const result = await execSync(ctx, req.containerId, req.cmd, timeout);
      return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
    }),
    exec: unary('Exec', (req) => ({ url: server().getExec(req) })),
    attach: unary('Attach', (req) => ({ url: server().getAttach(req) })),
    portForward: unary('PortForward', (req) => ({ url: server().getPortForward(req) })),
    reopenContainerLog: unary('ReopenContainerLog', async (req) => {
      if (!req.containerId) throw invalidArgument('container_id is required');
      await reopenContainerLog(ctx, req.containerId);
      return {};
    }),
  };
}
