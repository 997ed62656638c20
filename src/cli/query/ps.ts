import { Container, ContainerState } from '../../gen/runtime/v1/api.js';
import type { Cri } from '../cri-client.js';
import { listContainers, listPods, resolvePod } from './lookup.js';
import { age, outputFormat, shortId, structured, table } from './output.js';

export const PS_USAGE = `usage: cricket ps [-a] [--pod POD] [-o json|yaml] [--quiet]

Lists running containers; -a also created and exited ones.

options:
  -a, --all          all containers, not only running ones
  --pod POD          only the containers of this pod (name or id)
  -o, --output FMT   table (default), json or yaml
  -q, --quiet        container ids only
  --socket PATH      CRI socket (default /run/cricket/cricket.sock)
  --config FILE      config file naming the socket (default /etc/cricket/config.toml)
  -h, --help         this text
`;

export function containerStateName(s: ContainerState): string {
  switch (s) {
    case ContainerState.CONTAINER_RUNNING:
      return 'Running';
    case ContainerState.CONTAINER_CREATED:
      return 'Created';
    case ContainerState.CONTAINER_EXITED:
      return 'Exited';
    default:
      return 'Unknown';
  }
}

export async function psCommand(cri: Cri, flags: Record<string, string>): Promise<string> {
  const format = outputFormat(flags.output);
  const podId = flags.pod ? (await resolvePod(cri, flags.pod)).id : '';
  let containers = await listContainers(cri, podId);
  if (!flags.all) containers = containers.filter((c) => c.state === ContainerState.CONTAINER_RUNNING);
  containers.sort((a, b) => (b.createdAt > a.createdAt ? 1 : b.createdAt < a.createdAt ? -1 : 0));
  if (flags.quiet) return containers.map((c) => `${c.id}\n`).join('');
  if (format !== 'table') return structured(containers.map((c) => Container.toJSON(c)), format);
  const pods = new Map((await listPods(cri)).map((p) => [p.id, p]));
  const rows = [['CONTAINER ID', 'NAME', 'POD', 'STATE', 'ATTEMPT', 'IMAGE', 'AGE']];
  for (const c of containers) {
    rows.push([shortId(c.id), c.metadata?.name ?? '', pods.get(c.podSandboxId)?.metadata?.name ?? shortId(c.podSandboxId), containerStateName(c.state), String(c.metadata?.attempt ?? 0), c.image?.userSpecifiedImage || c.image?.image || c.imageRef, age(c.createdAt)]);
  }
  return table(rows);
}
