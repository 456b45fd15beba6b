import type { JobState, TriggerRule } from './job.js';

/** What a job with parents knows about them while it waits. */
export interface Gate {
  /** Parents not yet final. */
  remaining: number;
  succeeded: number;
  /** Parents that failed, went dead or were cancelled. */
  failed: number;
  /** Parents that were skipped. */
  skipped: number;
}

export function newGate(): Gate {
  return { remaining: 0, succeeded: 0, failed: 0, skipped: 0 };
}

export function countParent(gate: Gate, state: JobState): void {
  if (state === 'succeeded') gate.succeeded++;
  else if (state === 'skipped') gate.skipped++;
  else gate.failed++;
}

/**
 * Once every parent is final: run, or skip (with why). As in Airflow: all_success needs every
 * parent to have succeeded, all_done runs whatever happened, one_failed runs only if one failed.
 */
export function decideGate(gate: Gate, rule: TriggerRule): { run: true } | { run: false; why: string } {
  switch (rule) {
    case 'all_success':
      if (gate.failed === 0 && gate.skipped === 0) return { run: true };
      return { run: false, why: gate.failed > 0 ? `${gate.failed} parent(s) did not succeed` : `${gate.skipped} parent(s) were skipped` };
    case 'all_done':
      return { run: true };
    case 'one_failed':
      return gate.failed > 0 ? { run: true } : { run: false, why: 'no parent failed (trigger rule one_failed)' };
    default: {
      const unknown: never = rule;
      throw new Error(`unknown trigger rule ${String(unknown)}`);
    }
  }
}
