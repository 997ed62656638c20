import { loadConfig, statePaths } from '../config/config.js';
import { CricketError } from '../errors.js';
import { logger } from '../log/logger.js';
import { NOT_UNDER_INIT, type InitWrapperState } from '../process/init-wrapper.js';
import { parseCommandArgs } from './args.js';
import { checkFlags, COMMAND_FLAGS, isCommand } from './command-flags.js';
import { configCommand, CONFIG_USAGE } from './config-default.js';
import { doctorCommand, DOCTOR_USAGE } from './doctor.js';
import { imageCommand, IMAGE_USAGE } from './image.js';
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

Every command takes --help (cricket COMMAND --help, or cricket help COMMAND) and lists its
options there. The client commands talk to the daemon at --socket PATH (default
/run/cricket/cricket.sock, or the socket of --config FILE, default /etc/cricket/config.toml).
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
  --runc PATH              the OCI runtime (default runc, looked up on PATH)
  --conmon PATH            a conmon to monitor containers with (default built-in: cricket's own)
  --streaming-address IP, --streaming-port N
                           the exec/attach/port-forward server (default 127.0.0.1, a free port)
  --metrics-address IP, --metrics-port N
                           the Prometheus /metrics endpoint (off unless a port is given)
  --help                   this text
`;

const QUERY_COMMANDS = new Set(['pods', 'ps', 'logs', 'exec', 'inspect', 'stop', 'rm']);

async function main(argv: string[], initWrapper: InitWrapperState = NOT_UNDER_INIT): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const topic = rest[0];
    const usages: Record<string, string> = { play: PLAY_USAGE, serve: SERVE_USAGE, doctor: DOCTOR_USAGE, config: CONFIG_USAGE, image: IMAGE_USAGE, ...QUERY_USAGES };
    process.stdout.write(topic && usages[topic] ? usages[topic] : USAGE);
    return command === undefined ? 2 : 0;
  }
  if (!isCommand(command)) {
    process.stderr.write(`cricket: unknown command "${command}"\n${USAGE}`);
    return 2;
  }
  const { flags, positional } = parseCommandArgs(rest, COMMAND_FLAGS[command]);
  checkFlags(command, flags);
  if (command === 'serve') {
    if (flags.help) {
      process.stdout.write(SERVE_USAGE);
      return 0;
    }
    return serveCommand(flags, initWrapper);
  }
  // The CLI reports to the user itself; the daemon's info lines would only repeat it.
  if (!process.env.CRICKET_LOG_LEVEL) logger.level = 'warn';
  if (command === 'config') return configCommand(positional, flags);
  const config = loadConfig(flags);
  if (command === 'image') return imageCommand(rest, { root: statePaths(config).images });
  if (command === 'play') return playCommand(positional, flags, config.socket);
  if (command === 'doctor') return doctorCommand(flags, config);
  if (QUERY_COMMANDS.has(command)) return queryCommand(command as QueryCommand, positional, flags, config.socket);
  throw new Error(`cricket ${command}: not dispatched`);
}

/**
 * bin/cricket's entry: runs one command and sets the exit code. `initWrapper` is what bin/cricket
 * learnt when it put `cricket serve` under cricket-init.
 */
export function run(argv: string[], initWrapper?: InitWrapperState): Promise<void> {
  return main(argv, initWrapper).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const message = err instanceof CricketError || err instanceof Error ? err.message : String(err);
      process.stderr.write(`cricket: ${message}\n`);
      process.exitCode = 1;
    },
  );
}
