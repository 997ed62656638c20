// What a fuzz campaign must leave true: the daemon alive and answering, nothing written outside
// cricket's directories and the campaign's own, and every pod and container in one piece.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from '../client/cri.js';
import type { TestDaemon } from './cricket.js';
import { ESCAPE_MARKER } from './fuzz-campaign.js';

/** Top-level names of directories nobody else writes to while tests run. */
export function quietSnapshot(): Record<string, string[]> {
  const snap: Record<string, string[]> = {};
  for (const dir of ['/', '/etc']) snap[dir] = readdirSync(dir).sort();
  return snap;
}

/** Entries named with the escape marker where a path with ".." or an absolute path would land. */
export function escapes(fuzzDir: string, daemonDir: string): string[] {
  const dirs = ['/', '/tmp', '/etc', '/var/log', daemonDir, fuzzDir, join(fuzzDir, 'host'), join(fuzzDir, 'logs')];
  if (existsSync(join(fuzzDir, 'logs'))) for (const d of readdirSync(join(fuzzDir, 'logs'))) dirs.push(join(fuzzDir, 'logs', d));
  const hits: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (name.startsWith(ESCAPE_MARKER)) hits.push(join(dir, name));
  }
  return hits;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function mkfifo(path: string): void {
  execFileSync('mkfifo', ['-m', '0600', path]);
}

/** Problems with the pods and containers the daemon lists; empty when all are whole. */
export async function inconsistencies(d: TestDaemon): Promise<string[]> {
  const problems: string[] = [];
  const { items } = await d.cri.runtime.call<{ items: Message[] }>('ListPodSandbox', {});
  const podIds = new Set(items.map((p) => p.id as string));
  for (const pod of items) {
    const { status } = await d.cri.runtime.call<{ status: Message }>('PodSandboxStatus', { pod_sandbox_id: pod.id });
    if (!['SANDBOX_READY', 'SANDBOX_NOTREADY'].includes(status.state as string)) problems.push(`pod ${pod.id} is ${status.state}`);
    if (status.state === 'SANDBOX_READY' && !d.runcState(pod.id as string)) problems.push(`pod ${pod.id} is ready without its pause container`);
  }
  const { containers } = await d.cri.runtime.call<{ containers: Message[] }>('ListContainers', {});
  for (const c of containers) {
    const { status } = await d.cri.runtime.call<{ status: Message }>('ContainerStatus', { container_id: c.id });
    if (!podIds.has(c.pod_sandbox_id as string)) problems.push(`container ${c.id} belongs to no listed pod (${c.pod_sandbox_id})`);
    if (!['CONTAINER_CREATED', 'CONTAINER_RUNNING', 'CONTAINER_EXITED'].includes(status.state as string)) problems.push(`container ${c.id} is ${status.state}`);
    const runc = d.runcState(c.id as string);
    if (status.state === 'CONTAINER_RUNNING' && runc?.status !== 'running') problems.push(`container ${c.id} is listed running, runc says ${runc?.status ?? 'nothing'}`);
    if (status.state === 'CONTAINER_CREATED' && !runc) problems.push(`container ${c.id} is listed created, runc has no such container`);
  }
  return problems;
}

/** Stops and removes every pod (and so every container); returns what is still listed. */
export async function removeEverything(d: TestDaemon): Promise<{ pods: number; containers: number }> {
  const { items } = await d.cri.runtime.call<{ items: Message[] }>('ListPodSandbox', {});
  for (const pod of items) {
    await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: pod.id });
    await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: pod.id });
  }
  const after = await d.cri.runtime.call<{ items: Message[] }>('ListPodSandbox', {});
  const { containers } = await d.cri.runtime.call<{ containers: Message[] }>('ListContainers', {});
  return { pods: after.items.length, containers: containers.length };
}
