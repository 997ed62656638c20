import {
  ContainerStatusRequest, ContainerStatusResponse, PodSandboxStatusRequest, PodSandboxStatusResponse,
} from '../../gen/runtime/v1/api.js';
import type { Cri } from '../cri-client.js';
import { listContainers, resolveContainer, resolvePod } from './lookup.js';
import { outputFormat, structured } from './output.js';

export const INSPECT_USAGE = `usage: cricket inspect [-o json|yaml] ID|NAME [-c CONTAINER]

The verbose status of a pod (by id, id prefix, NAME or NAMESPACE/NAME) or of a container (by id or
id prefix, or POD -c NAME), as the daemon reports it: state, IPs, mounts, runtime spec, pid.

options:
  -c, --container NAME  a container of the pod
  -o, --output FMT      json (default) or yaml
  --socket PATH         CRI socket (default /run/cricket/cricket.sock)
  --config FILE         config file naming the socket (default /etc/cricket/config.toml)
  -h, --help            this text
`;

export async function inspectCommand(cri: Cri, ref: string, flags: Record<string, string>): Promise<string> {
  const format = outputFormat(flags.output, 'json');
  const fmt = format === 'table' ? 'json' : format;
  const isContainer = flags.container !== undefined || (await listContainers(cri)).some((c) => c.id === ref || (/^[0-9a-f]+$/.test(ref) && c.id.startsWith(ref)));
  if (isContainer) {
    const c = await resolveContainer(cri, ref, flags.container);
    const res = await cri.call<ContainerStatusRequest, ContainerStatusResponse>(cri.runtime, 'containerStatus', ContainerStatusRequest.fromPartial({ containerId: c.id, verbose: true }), 30_000);
    return structured(withParsedInfo(ContainerStatusResponse.toJSON(res)), fmt);
  }
  const pod = await resolvePod(cri, ref);
  const res = await cri.call<PodSandboxStatusRequest, PodSandboxStatusResponse>(cri.runtime, 'podSandboxStatus', PodSandboxStatusRequest.fromPartial({ podSandboxId: pod.id, verbose: true }), 30_000);
  return structured(withParsedInfo(PodSandboxStatusResponse.toJSON(res)), fmt);
}

/** The verbose info map holds JSON strings; shown as the objects they are. */
function withParsedInfo(value: unknown): unknown {
  const v = value as { info?: Record<string, string> };
  if (!v.info) return value;
  const info: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(v.info)) {
    try {
      info[k] = JSON.parse(s);
    } catch {
      info[k] = s;
    }
  }
  return { ...v, info };
}
