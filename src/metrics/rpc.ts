import { Counter, Histogram } from 'prom-client';
import { status as grpcStatus } from '@grpc/grpc-js';
import { registry } from './registry.js';

// kubelet calls List* and *Status every second (milliseconds), pod starts take up to seconds,
// image pulls minutes: the buckets span that.
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

const duration = new Histogram({
  name: 'cricket_rpc_duration_seconds',
  help: 'Duration of CRI calls by method and gRPC status code',
  labelNames: ['method', 'code'] as const,
  buckets: BUCKETS,
  registers: [registry],
});

const errors = new Counter({
  name: 'cricket_rpc_errors_total',
  help: 'CRI calls that failed, by method and gRPC status code',
  labelNames: ['method', 'code'] as const,
  registers: [registry],
});

const CODE_NAMES = new Map<number, string>(Object.entries(grpcStatus).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]));

/** One finished CRI call into the histograms: `code` 0 is OK. */
export function recordRpcMetrics(method: string, ms: number, code: number): void {
  const name = CODE_NAMES.get(code) ?? String(code);
  duration.observe({ method, code: name }, ms / 1000);
  if (code !== 0) errors.inc({ method, code: name });
}
