import { loadConfig, statePaths } from '../config/config.js';
import { CricketError } from '../errors.js';
import { logger } from '../log/logger.js';
import { parseArgs } from './args.js';
import { imageCommand } from './image.js';
import { serveCommand } from './serve.js';

const USAGE = `usage: cricket <command> [options]

commands:
  serve                         run the CRI daemon in the foreground
  image import PATH [--name REF] import an OCI layout, OCI archive or docker-save archive
  image ls                      list images

options:
  --config FILE      config file (default /etc/cricket/config.toml)
  --socket PATH      CRI socket (default /run/cricket/cricket.sock)
  --root DIR         persistent state (default /var/lib/cricket)
  --state-dir DIR    volatile state (default /run/cricket)
  --cni-conf-dir DIR CNI configuration (default /etc/cni/net.d)
  --cni-bin-dir DIRS CNI plugins, colon-separated (default /opt/cni/bin:/usr/lib/cni)
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { flags, positional } = parseArgs(rest);
  switch (command) {
    case 'serve':
      return serveCommand(flags);
    case 'image': {
      // The CLI reports to the user itself; the daemon's info lines would only repeat it.
      if (!process.env.CRICKET_LOG_LEVEL) logger.level = 'warn';
      const config = loadConfig(flags);
      return imageCommand(rest, { root: statePaths(config).images });
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`cricket: unknown command "${command}"${positional.length ? '' : ''}\n${USAGE}`);
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
