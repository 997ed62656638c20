// The Prometheus endpoint: plain HTTP on its own (loopback) address, never on the CRI socket.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RuntimeContext } from '../runtime-context.js';
import { logger } from '../log/logger.js';
import { observeCgroupLockPrimes } from './cgroup-lock.js';
import { observeStartSteps } from './pod-steps.js';
import { recordRpcMetrics } from './rpc.js';
import { setRpcRecorder } from './rpc-recorder.js';
import { enableProcessMetrics, registry } from './registry.js';
import { registerStateGauges } from './state-gauges.js';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(ctx: RuntimeContext, options: { address: string; port: number }): Promise<MetricsServer> {
  enableProcessMetrics();
  setRpcRecorder(recordRpcMetrics);
  const untap = observeStartSteps(ctx.events);
  const unregister = registerStateGauges(ctx);
  const unobservePrimes = observeCgroupLockPrimes(ctx.cgroupLock);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        logger.warn({ err }, 'collecting metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics`;
  return {
    url,
    async close() {
      setRpcRecorder(undefined);
      untap();
      unregister();
      unobservePrimes();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
