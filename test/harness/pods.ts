// Pod and container requests as kubelet shapes them, in the proto's snake_case.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { BUSYBOX, TEST_CGROUP_PARENT, waitFor, type TestDaemon } from './cricket.js';
import type { Message } from '../client/cri.js';

/** The namespace options kubelet sends for a pod that does not share its process namespace. */
export const KUBELET_NAMESPACE_OPTIONS = { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } as const;

export function podConfig(d: TestDaemon, name: string, extra: Message = {}): Message {
  const uid = randomUUID();
  const logDirectory = join(d.dir, 'logs', uid);
  mkdirSync(logDirectory, { recursive: true });
  return {
    metadata: { name, namespace: 'default', uid, attempt: 0 },
    hostname: name,
    log_directory: logDirectory,
    labels: { app: name },
    linux: { cgroup_parent: `/${TEST_CGROUP_PARENT}`, security_context: { namespace_options: KUBELET_NAMESPACE_OPTIONS } },
    ...extra,
  };
}

export function containerConfig(name: string, command: string[], extra: Message = {}): Message {
  return {
    metadata: { name, attempt: 0 },
    image: { image: BUSYBOX },
    command,
    log_path: `${name}/0.log`,
    ...extra,
  };
}

export async function runPod(d: TestDaemon, config: Message): Promise<{ id: string; ip: string }> {
  const { pod_sandbox_id } = await d.cri.runtime.call<{ pod_sandbox_id: string }>('RunPodSandbox', { config });
  const { status } = await d.cri.runtime.call<{ status: { network: { ip: string } } }>('PodSandboxStatus', { pod_sandbox_id });
  return { id: pod_sandbox_id, ip: status.network.ip };
}

export async function startContainer(d: TestDaemon, podId: string, pod: Message, config: Message): Promise<string> {
  const { container_id } = await d.cri.runtime.call<{ container_id: string }>('CreateContainer', {
    pod_sandbox_id: podId,
    config,
    sandbox_config: pod,
  });
  await d.cri.runtime.call('StartContainer', { container_id });
  return container_id;
}

export interface ContainerStatusView {
  state: string;
  exit_code: number;
  reason: string;
  started_at: string;
  finished_at: string;
  log_path: string;
}

export async function containerStatus(d: TestDaemon, id: string): Promise<ContainerStatusView> {
  const { status } = await d.cri.runtime.call<{ status: ContainerStatusView }>('ContainerStatus', { container_id: id });
  return status;
}

export function waitExited(d: TestDaemon, id: string): Promise<ContainerStatusView> {
  return waitFor(`container ${id} to exit`, async () => {
    const s = await containerStatus(d, id);
    return s.state === 'CONTAINER_EXITED' ? s : undefined;
  });
}

/** Namespace inode links of a process, e.g. { net: 'net:[4026532]' }. */
export function namespacesOf(pid: number): Record<string, string> {
  const result: Record<string, string> = {};
  for (const ns of ['net', 'ipc', 'uts', 'pid', 'mnt']) result[ns] = readlinkSync(`/proc/${pid}/ns/${ns}`);
  return result;
}

/** One bounded HTTP GET to a pod the test created. */
export function httpGet(ip: string, port: number, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: ip, port, path: '/', timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${ip}:${port}/ timed out`)));
    req.on('error', reject);
  });
}

/** Retries a GET a bounded number of times while a server in a fresh container starts. */
export async function httpGetEventually(ip: string, port: number, attempts = 40): Promise<{ status: number; body: string }> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await httpGet(ip, port, 1000);
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw last;
}

/** The lines a container printed, from its CRI log: partial (P) records joined up to the full (F) one. */
export function logLines(path: string, stream?: 'stdout' | 'stderr'): string[] {
  const lines: string[] = [];
  const pending: Record<string, string> = { stdout: '', stderr: '' };
  for (const record of readFileSync(path, 'utf8').split('\n')) {
    const m = record.match(/^\S+ (stdout|stderr) ([PF]) ?(.*)$/);
    if (!m) continue;
    const [, which, tag, text] = m as unknown as [string, 'stdout' | 'stderr', string, string];
    pending[which] += text;
    if (tag === 'F') {
      if (!stream || stream === which) lines.push(pending[which]!);
      pending[which] = '';
    }
  }
  return lines;
}
