import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';

/** One undo step of a multi-step operation, named so that logs and records can say which. */
export interface UndoStep {
  name: string;
  run: () => Promise<unknown>;
}

export interface RollbackOptions {
  /** Tries per step before it counts as failed. */
  attempts?: number;
  /** Wait before the second try, doubled for each further one. */
  retryDelayMs?: number;
}

/**
 * The undo steps of an operation under way. Steps are added as the work they undo is done and
 * run in reverse order; each is retried a few times, and a step that still fails does not stop
 * the ones before it. The caller learns which steps failed, so it can keep a record of what is
 * left to clean (Stop and Remove finish it later) instead of forgetting it.
 */
export class Rollback {
  private readonly steps: UndoStep[] = [];

  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  /** The names of the steps added so far, oldest first. */
  get names(): string[] {
    return this.steps.map((s) => s.name);
  }

  /** Runs every step, newest first; resolves to the names of the steps that failed. */
  async run(log: Logger, opts: RollbackOptions = {}): Promise<string[]> {
    const attempts = opts.attempts ?? 3;
    const failed: string[] = [];
    for (const step of [...this.steps].reverse()) {
      let delay = opts.retryDelayMs ?? 100;
      for (let attempt = 1; ; attempt++) {
        try {
          await step.run();
          break;
        } catch (err) {
          if (attempt >= attempts) {
            log.error({ err, step: step.name, attempts }, 'rollback step failed');
            failed.push(step.name);
            break;
          }
          log.warn({ err, step: step.name, attempt }, 'rollback step failed; retrying');
          await sleep(delay);
          delay *= 2;
        }
      }
    }
    this.steps.length = 0;
    return failed;
  }
}
