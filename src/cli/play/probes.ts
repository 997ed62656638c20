// One probe run, as kubelet's prober does it: exec through ExecSync, HTTP GET or a TCP connect
// to the pod's IP. Success is exit 0, a status 200-399, an accepted connection.
import http from 'node:http';
import net from 'node:net';
import type { Container, Probe } from 'kubernetes-types/core/v1.js';
import { ExecSyncRequest, type ExecSyncResponse } from '../../gen/runtime/v1/api.js';
import type { Cri } from '../cri-client.js';

export interface ProbeResult {
  ok: boolean;
  message: string;
}

export const probeTiming = (p: Probe) => ({
  initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000,
  periodMs: Math.max(1, p.periodSeconds ?? 10) * 1000,
  timeoutMs: Math.max(1, p.timeoutSeconds ?? 1) * 1000,
  successThreshold: Math.max(1, p.successThreshold ?? 1),
  failureThreshold: Math.max(1, p.failureThreshold ?? 3),
});

function resolvePort(port: number | string, c: Container): number {
  if (typeof port === 'number') return port;
  const named = c.ports?.find((p) => p.name === port);
  if (named) return named.containerPort;
  const n = Number(port);
  if (Number.isInteger(n)) return n;
  throw new Error(`no port named "${port}" in container ${c.name}`);
}

export async function runProbe(cri: Cri, probe: Probe, c: Container, containerId: string, podIP: string): Promise<ProbeResult> {
  const { timeoutMs } = probeTiming(probe);
  const host = podIP || '127.0.0.1';
  try {
    if (probe.exec) {
      const res = await cri.call<ExecSyncRequest, ExecSyncResponse>(cri.runtime, 'execSync', ExecSyncRequest.fromPartial({
        containerId, cmd: probe.exec.command ?? [], timeout: BigInt(Math.ceil(timeoutMs / 1000)),
      }), timeoutMs + 5000);
      return { ok: res.exitCode === 0, message: `exit ${res.exitCode}${res.stdout.length || res.stderr.length ? `: ${Buffer.concat([res.stdout, res.stderr]).toString().trim().slice(0, 200)}` : ''}` };
    }
    if (probe.httpGet) {
      const g = probe.httpGet;
      return await httpProbe(g.host || host, resolvePort(g.port, c), g.path ?? '/', g.httpHeaders ?? [], timeoutMs);
    }
    if (probe.tcpSocket) return await tcpProbe(probe.tcpSocket.host || host, resolvePort(probe.tcpSocket.port, c), timeoutMs);
    return { ok: false, message: 'no probe handler' };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

function httpProbe(host: string, port: number, path: string, headers: { name: string; value: string }[], timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: path.startsWith('/') ? path : `/${path}`, timeout: timeoutMs, agent: false, headers: { 'User-Agent': 'kube-probe/cricket', ...Object.fromEntries(headers.map((h) => [h.name, h.value])) } }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      resolve({ ok: status >= 200 && status < 400, message: `HTTP ${status}` });
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, message: err.message }));
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, message: `connected to ${host}:${port}` });
    });
    socket.once('timeout', () => socket.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    socket.once('error', (err) => resolve({ ok: false, message: err.message }));
  });
}
