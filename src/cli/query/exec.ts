import { ExecRequest, type ExecResponse } from '../../gen/runtime/v1/api.js';
import type { Cri } from '../cri-client.js';
import { resolveContainer } from './lookup.js';
import { remoteCommand } from './remote-command.js';

export const EXEC_USAGE = `usage: cricket exec [-i] [-t] POD [-c CONTAINER] -- COMMAND [ARG...]

Runs a command in a running container through the daemon's Exec streaming URL. POD is a pod
name, NAMESPACE/NAME or id, or a container id. The exit code is the command's.

options:
  -c, --container NAME  the container of the pod (default: the first)
  -i, --stdin           pass stdin to the command
  -t, --tty             allocate a terminal (stdout and stderr are merged)
  --socket PATH         CRI socket (default /run/cricket/cricket.sock)
  --config FILE         config file naming the socket (default /etc/cricket/config.toml)
  -h, --help            this text
`;

export async function execCommand(cri: Cri, ref: string, cmd: string[], flags: Record<string, string>): Promise<number> {
  if (!cmd.length) throw new Error('no command given: cricket exec POD -- COMMAND');
  const container = await resolveContainer(cri, ref, flags.container, (w) => process.stderr.write(`${w}\n`));
  const stdin = flags.stdin === 'true';
  let tty = flags.tty === 'true';
  if (tty && stdin && !process.stdin.isTTY) {
    // A terminal would swallow the end of piped input; kubectl drops the TTY here too.
    process.stderr.write('Unable to use a TTY - input is not a terminal\n');
    tty = false;
  }
  const { url } = await cri.call<ExecRequest, ExecResponse>(cri.runtime, 'exec', ExecRequest.fromPartial({ containerId: container.id, cmd, tty, stdin, stdout: true, stderr: !tty }), 30_000);
  return remoteCommand(url, { stdin: stdin ? process.stdin : undefined, stdout: process.stdout, stderr: process.stderr, tty });
}
