import { nowNs } from './clock.js';

/** One timed step of creating a pod or container: when it began (ns since the epoch) and how long it took. */
export interface TimelineStep {
  step: string;
  startedAt: string;
  ms: number;
}

/**
 * Times the steps of one creation. Steps may overlap (the pause process and CNI ADD run at once),
 * so each keeps its own start time rather than being implied by the order.
 */
export class StepTimeline {
  readonly steps: TimelineStep[] = [];

  /** Starts a step; the returned function ends it and records it. */
  begin(step: string): () => void {
    const startedAt = nowNs();
    const start = process.hrtime.bigint();
    return () => {
      this.steps.push({ step, startedAt: startedAt.toString(), ms: Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10 });
    };
  }

  /** Times one awaited step. */
  async time<T>(step: string, work: () => Promise<T>): Promise<T> {
    const end = this.begin(step);
    const result = await work();
    end();
    return result;
  }

  /** The steps as `<step>Ms` fields, for the log record. */
  fields(): Record<string, number> {
    return Object.fromEntries(this.steps.map((s) => [`${s.step}Ms`, s.ms]));
  }
}
