// The flags each command accepts: the parser refuses any other, and each command's --help names
// every one of them (a test checks both), so what the code reads and what the help says agree.
import type { CommandArgSpec } from './args.js';

export interface CommandFlags extends CommandArgSpec {
  /** Long names of flags that take a value. */
  value: readonly string[];
}

const SOCKET = ['config', 'socket'] as const;
/** What loadConfig reads: the daemon's directories and tools. */
const DAEMON = [...SOCKET, 'root', 'state-dir', 'cni-conf-dir', 'cni-bin-dir', 'cni-bridge', 'pod-subnet', 'runc', 'conmon'] as const;

export const COMMAND_FLAGS = {
  serve: {
    boolean: ['help'],
    value: [...DAEMON, 'streaming-address', 'streaming-port', 'metrics-address', 'metrics-port'],
  },
  play: {
    boolean: ['help', 'down', 'wait', 'watch'],
    value: [...SOCKET, 'timeout', 'grace-period', 'pods-dir', 'log-root', 'cgroup-parent', 'backoff', 'backoff-max', 'sync-period'],
    short: { h: 'help' },
  },
  pods: { boolean: ['help', 'quiet'], value: [...SOCKET, 'output', 'namespace'], short: { h: 'help', q: 'quiet', o: 'output' } },
  ps: { boolean: ['help', 'all', 'quiet'], value: [...SOCKET, 'output', 'pod'], short: { h: 'help', a: 'all', q: 'quiet', o: 'output' } },
  logs: {
    boolean: ['help', 'follow', 'previous', 'timestamps'],
    value: [...SOCKET, 'tail', 'container'],
    short: { h: 'help', f: 'follow', p: 'previous', c: 'container' },
  },
  exec: { boolean: ['help', 'stdin', 'tty'], value: [...SOCKET, 'container'], short: { h: 'help', i: 'stdin', t: 'tty', c: 'container' } },
  inspect: { boolean: ['help'], value: [...SOCKET, 'output', 'container'], short: { h: 'help', o: 'output', c: 'container' } },
  stop: { boolean: ['help'], value: [...SOCKET], short: { h: 'help' } },
  rm: { boolean: ['help'], value: [...SOCKET, 'pods-dir', 'log-root'], short: { h: 'help' } },
  doctor: { boolean: ['help'], value: [...SOCKET, 'root', 'cni-conf-dir', 'cni-bin-dir', 'runc', 'conmon'], short: { h: 'help' } },
  config: { boolean: ['help'], value: [], short: { h: 'help' } },
  image: { boolean: ['help', 'quiet', 'pinned'], value: ['config', 'root', 'name', 'user'] },
} satisfies Record<string, CommandFlags>;

export type CommandName = keyof typeof COMMAND_FLAGS;

export function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMAND_FLAGS, name);
}

/** Refuses a flag the command does not take, naming the command. */
export function checkFlags(command: CommandName, flags: Record<string, string>): void {
  const spec: CommandFlags = COMMAND_FLAGS[command];
  for (const name of Object.keys(flags)) {
    if (!spec.boolean.includes(name) && !spec.value.includes(name)) {
      throw new Error(`cricket ${command}: unknown flag --${name} (cricket ${command} --help lists its flags)`);
    }
  }
}
