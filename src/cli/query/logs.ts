import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerState, ContainerStatusRequest, type ContainerStatusResponse, type Container } from '../../gen/runtime/v1/api.js';
import type { Cri } from '../cri-client.js';
import { CriLogParser, LogFile, type LogLine } from './cri-log.js';
import { listContainers, resolveContainer } from './lookup.js';

export const LOGS_USAGE = `usage: cricket logs [-f] [--tail N] [-p] [--timestamps] POD [-c CONTAINER]

Prints a container's log (the CRI log file the daemon writes): stdout lines to stdout, stderr
lines to stderr. POD is a pod name, NAMESPACE/NAME or id, or a container id.

options:
  -c, --container NAME  the container of the pod (default: the first)
  -f, --follow          keep printing new lines, across log rotation, until the container exits
  --tail N              only the last N lines
  -p, --previous        the previous instance of a restarted container
  --timestamps          prefix each line with its time
  --socket PATH         CRI socket (default /run/cricket/cricket.sock)
  --config FILE         config file naming the socket (default /etc/cricket/config.toml)
  -h, --help            this text
`;

const POLL_MS = 200;

async function statusOf(cri: Cri, id: string) {
  return (await cri.call<ContainerStatusRequest, ContainerStatusResponse>(cri.runtime, 'containerStatus', ContainerStatusRequest.fromPartial({ containerId: id }), 30_000)).status!;
}

async function previousOf(cri: Cri, c: Container): Promise<Container> {
  const older = (await listContainers(cri, c.podSandboxId))
    .filter((o) => o.metadata?.name === c.metadata?.name && (o.metadata?.attempt ?? 0) < (c.metadata?.attempt ?? 0))
    .sort((a, b) => (b.metadata?.attempt ?? 0) - (a.metadata?.attempt ?? 0));
  if (!older[0]) throw new Error(`container ${c.metadata?.name} has no previous instance`);
  return older[0];
}

export async function logsCommand(cri: Cri, ref: string, flags: Record<string, string>, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, signal?: AbortSignal): Promise<void> {
  let container = await resolveContainer(cri, ref, flags.container, (w) => stderr.write(`${w}\n`));
  if (flags.previous) container = await previousOf(cri, container);
  const status = await statusOf(cri, container.id);
  if (!status.logPath) throw new Error(`container ${container.metadata?.name} has no log file`);
  const tail = flags.tail !== undefined ? Number(flags.tail) : -1;
  if (!Number.isInteger(tail) || tail < -1) throw new Error(`--tail must be a number of lines, not "${flags.tail}"`);
  const write = (lines: LogLine[]) => {
    for (const l of lines) (l.stream === 'stderr' ? stderr : stdout).write(`${flags.timestamps ? `${l.time} ` : ''}${l.text}\n`);
  };
  const parser = new CriLogParser();
  const file = new LogFile(status.logPath);
  try {
    const first = parser.push(file.read());
    write(tail >= 0 ? first.slice(Math.max(0, first.length - tail)) : first);
    if (!flags.follow) return;
    let exitedReads = 0;
    while (!signal?.aborted) {
      write(parser.push(file.read()));
      if (file.rotated()) {
        write(parser.push(file.read()));
        file.reopen();
        continue;
      }
      // Once the container has exited, one more read catches what conmon wrote last.
      const s = await statusOf(cri, container.id).catch(() => undefined);
      if (!s || s.state === ContainerState.CONTAINER_EXITED) {
        if (++exitedReads > 1) {
          write(parser.push(file.read()));
          return;
        }
      }
      await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    file.close();
  }
}
