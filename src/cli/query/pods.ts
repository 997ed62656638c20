import { PodSandbox, PodSandboxState, PodSandboxStatusRequest, ContainerState, type PodSandboxStatusResponse } from '../../gen/runtime/v1/api.js';
import type { Cri } from '../cri-client.js';
import { listContainers, listPods } from './lookup.js';
import { age, outputFormat, shortId, structured, table } from './output.js';

export const PODS_USAGE = `usage: cricket pods [-o json|yaml] [--quiet] [--namespace NS]

Lists the pods (sandboxes) of the daemon: id, name, namespace, state, IP, containers running of
all, age.

options:
  -o, --output FMT   table (default), json or yaml
  -q, --quiet        pod ids only
  --namespace NS     only this namespace
  --socket PATH      CRI socket (default /run/cricket/cricket.sock)
  --config FILE      config file naming the socket (default /etc/cricket/config.toml)
  -h, --help         this text
`;

export async function podsCommand(cri: Cri, flags: Record<string, string>): Promise<string> {
  const format = outputFormat(flags.output);
  let pods = await listPods(cri);
  if (flags.namespace) pods = pods.filter((p) => p.metadata?.namespace === flags.namespace);
  pods.sort((a, b) => (a.metadata?.namespace ?? '').localeCompare(b.metadata?.namespace ?? '') || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  if (flags.quiet) return pods.map((p) => `${p.id}\n`).join('');
  const containers = await listContainers(cri);
  const rows = [['POD ID', 'NAME', 'NAMESPACE', 'STATE', 'IP', 'CONTAINERS', 'AGE']];
  const items: unknown[] = [];
  for (const p of pods) {
    const status = await cri.call<PodSandboxStatusRequest, PodSandboxStatusResponse>(cri.runtime, 'podSandboxStatus', PodSandboxStatusRequest.fromPartial({ podSandboxId: p.id }), 30_000).catch(() => undefined);
    const ip = status?.status?.network?.ip ?? '';
    const mine = containers.filter((c) => c.podSandboxId === p.id);
    const running = mine.filter((c) => c.state === ContainerState.CONTAINER_RUNNING).length;
    rows.push([shortId(p.id), p.metadata?.name ?? '', p.metadata?.namespace ?? '', p.state === PodSandboxState.SANDBOX_READY ? 'Ready' : 'NotReady', ip || '-', `${running}/${mine.length}`, age(p.createdAt)]);
    items.push({ ...(PodSandbox.toJSON(p) as object), ip });
  }
  return format === 'table' ? table(rows) : structured(items, format);
}
