// The read-mostly client commands: pods, ps, logs, exec, inspect, stop, rm.
import { connectCri } from '../cri-client.js';
import { execCommand, EXEC_USAGE } from './exec.js';
import { inspectCommand, INSPECT_USAGE } from './inspect.js';
import { logsCommand, LOGS_USAGE } from './logs.js';
import { podsCommand, PODS_USAGE } from './pods.js';
import { psCommand, PS_USAGE } from './ps.js';
import { rmCommand, RM_USAGE, stopCommand, STOP_USAGE } from './stop-rm.js';

export type QueryCommand = 'pods' | 'ps' | 'logs' | 'exec' | 'inspect' | 'stop' | 'rm';

export const QUERY_USAGES: Record<QueryCommand, string> = {
  pods: PODS_USAGE, ps: PS_USAGE, logs: LOGS_USAGE, exec: EXEC_USAGE, inspect: INSPECT_USAGE, stop: STOP_USAGE, rm: RM_USAGE,
};

const ARITY: Record<QueryCommand, [number, number]> = { pods: [0, 0], ps: [0, 0], logs: [1, 1], exec: [2, Infinity], inspect: [1, 1], stop: [1, Infinity], rm: [1, Infinity] };

export async function queryCommand(command: QueryCommand, positional: string[], flags: Record<string, string>, socket: string): Promise<number> {
  if (flags.help) {
    process.stdout.write(QUERY_USAGES[command]);
    return 0;
  }
  const [min, max] = ARITY[command];
  if (positional.length < min || positional.length > max) {
    process.stderr.write(QUERY_USAGES[command]);
    return 2;
  }
  const cri = connectCri(socket);
  try {
    switch (command) {
      case 'pods':
        process.stdout.write(await podsCommand(cri, flags));
        return 0;
      case 'ps':
        process.stdout.write(await psCommand(cri, flags));
        return 0;
      case 'inspect':
        process.stdout.write(await inspectCommand(cri, positional[0]!, flags));
        return 0;
      case 'stop':
        process.stdout.write(await stopCommand(cri, positional));
        return 0;
      case 'rm':
        process.stdout.write(await rmCommand(cri, positional, flags));
        return 0;
      case 'logs': {
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once('SIGINT', stop);
        await logsCommand(cri, positional[0]!, flags, process.stdout, process.stderr, abort.signal);
        process.off('SIGINT', stop);
        return 0;
      }
      case 'exec':
        return await execCommand(cri, positional[0]!, positional.slice(1), flags);
    }
  } finally {
    cri.close();
  }
}
