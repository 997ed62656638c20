// Per-step durations of RunPodSandbox. The sandbox code already measures its steps and writes them
// on its "pod sandbox ready" log record; the metrics read them there rather than timing twice.
import { Histogram } from 'prom-client';
import { symbols, type Logger } from 'pino';
import { registry } from './registry.js';

const steps = new Histogram({
  name: 'cricket_pod_start_step_duration_seconds',
  help: 'Duration of each step of starting a pod sandbox (persist, netns, bundle, pause, cniAdd, finish, total)',
  labelNames: ['step'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

const READY = '"msg":"pod sandbox ready"';

/** Observes one "pod sandbox ready" record's fields ending in Ms, and its total. */
export function observePodStartRecord(line: string): void {
  if (!line.includes(READY)) return;
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  for (const [key, value] of Object.entries(record)) {
    if (typeof value !== 'number') continue;
    if (key === 'ms') steps.observe({ step: 'total' }, value / 1000);
    else if (key.endsWith('Ms')) steps.observe({ step: key.slice(0, -2) }, value / 1000);
  }
}

/** Taps the logger's output stream; returns the undo. */
export function tapPodStartSteps(logger: Logger): () => void {
  const holder = logger as unknown as Record<symbol, { write(chunk: string): unknown } | undefined>;
  const stream = holder[symbols.streamSym];
  if (!stream || typeof stream.write !== 'function') return () => undefined;
  const original = stream.write;
  stream.write = function write(this: unknown, chunk: string) {
    try {
      observePodStartRecord(String(chunk));
    } catch {
      // Metrics never get in the way of logging.
    }
    return original.call(this, chunk);
  };
  return () => {
    stream.write = original;
  };
}
