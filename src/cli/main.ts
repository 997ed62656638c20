import { loadConfig, statePaths } from '../config/config.js';
import { CricketError } from '../errors.js';
import { logger } from '../log/logger.js';
import { parseArgs, parseCommandArgs } from './args.js';
import { configCommand, CONFIG_USAGE } from './config-default.js';
import { doctorCommand, DOCTOR_USAGE } from './doctor.js';
import { imageCommand } from './image.js';
import { playCommand, PLAY_USAGE } from './play/command.js';
import { queryCommand, QUERY_USAGES, type QueryCommand } from './query/command.js';
import { serveCommand } from './serve.js';

const USAGE = `usage: cricket <command> [options]

commands:
  serve                         run the CRI daemon in the foreground
  play FILE|-                   run the Pods of a Kubernetes YAML file (--down removes them)
  pods                          list pods
  ps [-a]                       list containers (-a: also exited ones)
  logs [-f] [--tail N] POD [-c CONTAINER]
                                a container's log
  exec [-it] POD [-c CONTAINER] -- CMD...
                                run a command in a container
  inspect ID|NAME               a pod's or container's status as JSON
  stop POD...                   stop pods
  rm POD...                     stop and remove pods
  image pull|import|ls|inspect|rm|prune
                                images (cricket image --help)
  doctor                        check this node for what cricket needs
  config default                the full default configuration, commented

Every command takes --help. Common options:
  --config FILE      config file (default /etc/cricket/config.toml)
  --socket PATH      CRI socket (default /run/cricket/cricket.sock)
  --root DIR         persistent state of the daemon (default /var/lib/cricket)
  --state-dir DIR    volatile state of the daemon (default /run/cricket)
  --cni-conf-dir DIR CNI configuration (default /etc/cni/net.d)
  --cni-bin-dir DIRS CNI plugins, colon-separated (default /opt/cni/bin:/usr/lib/cni)
`;

const SERVE_USAGE = `usage: cricket serve [options]

Runs the CRI daemon in the foreground until SIGINT or SIGTERM; pods and containers keep running
when it stops.

options:
  --config FILE            config file (default /etc/cricket/config.toml)
  --socket PATH            CRI socket (default /run/cricket/cricket.sock)
  --root DIR               persistent state (default /var/lib/cricket)
  --state-dir DIR          volatile state (default /run/cricket)
  --cni-conf-dir DIR       CNI configuration (default /etc/cni/net.d)
  --cni-bin-dir DIRS       CNI plugins, colon-separated (default /opt/cni/bin:/usr/lib/cni)
  --cni-bridge NAME        bridge of the embedded network (default cricket0)
  --pod-subnet CIDR        subnet of the embedded network (default 10.85.0.0/16)
  --runc PATH, --conmon PATH
  --streaming-address IP, --streaming-port N
                           the exec/attach/port-forward server (default 127.0.0.1, a free port)
  --metrics-address IP, --metrics-port N
                           the Prometheus /metrics endpoint (off unless a port is given)
`;

const QUERY_COMMANDS = new Set(['pods', 'ps', 'logs', 'exec', 'inspect', 'stop', 'rm']);

/** Flags without a value, for every client command, and their one-letter forms. */
const CLIENT_ARGS = {
  boolean: ['help', 'down', 'wait', 'watch', 'all', 'follow', 'stdin', 'tty', 'quiet', 'previous', 'timestamps'],
  short: { a: 'all', f: 'follow', i: 'stdin', t: 'tty', c: 'container', o: 'output', q: 'quiet', h: 'help', p: 'previous' },
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'play' || command === 'doctor' || command === 'config' || (command && QUERY_COMMANDS.has(command))) {
    // The CLI reports to the user itself; the daemon's info lines would only repeat it.
    if (!process.env.CRICKET_LOG_LEVEL) logger.level = 'warn';
    const { flags, positional } = parseCommandArgs(rest, CLIENT_ARGS);
    if (command === 'config') return configCommand(positional, flags);
    const config = loadConfig(flags);
    if (command === 'play') return playCommand(positional, flags, config.socket);
    if (command === 'doctor') return doctorCommand(flags, config);
    return queryCommand(command as QueryCommand, positional, flags, config.socket);
  }
  const { flags } = parseArgs(rest, new Set(['help']));
  switch (command) {
    case 'serve':
      if (flags.help) {
        process.stdout.write(SERVE_USAGE);
        return 0;
      }
      return serveCommand(flags);
    case 'image': {
      if (!process.env.CRICKET_LOG_LEVEL) logger.level = 'warn';
      const config = loadConfig(flags);
      return imageCommand(rest, { root: statePaths(config).images });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h': {
      const topic = rest[0];
      const usages: Record<string, string> = { play: PLAY_USAGE, serve: SERVE_USAGE, doctor: DOCTOR_USAGE, config: CONFIG_USAGE, ...QUERY_USAGES };
      process.stdout.write(topic && usages[topic] ? usages[topic] : USAGE);
      return command === undefined ? 2 : 0;
    }
    default:
      process.stderr.write(`cricket: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof CricketError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`cricket: ${message}\n`);
    process.exitCode = 1;
  },
);
