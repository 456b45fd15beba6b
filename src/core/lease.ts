/**
 * The lease rule shared by master and workers (docs/RELIABILITY.md). A worker runs its attempts
 * only while it has heard from the master within `leaseMs`; the master gives a silent worker's
 * attempts to another worker only after `heartbeatTimeoutMs` without a heartbeat. The lease is
 * shorter by a margin (time for the worker's watchdog to kill the attempts, and for clocks that
 * run at slightly different rates), so an attempt is gone before its replacement is dispatched.
 */
import type { Effect } from './effects.js';
import type { Job, JobOutcome } from './job.js';

export function leaseMsFor(heartbeatTimeoutMs: number): number {
  const margin = Math.min(5_000, Math.max(500, Math.round(heartbeatTimeoutMs / 10)));
  return Math.max(100, heartbeatTimeoutMs - margin);
}

/** How an outcome reads in a job's history. */
export function describeOutcome(outcome: JobOutcome & { readonly leaseExpired?: boolean }): string {
  if (outcome.leaseExpired === true) return 'killed by its worker when its lease ran out';
  if (outcome.exitCode === 0 && outcome.error === undefined) return 'succeeded';
  if (outcome.error !== undefined) return `failed: ${outcome.error}`;
  if (outcome.signal !== null) return `killed by ${outcome.signal}`;
  return `exited with code ${String(outcome.exitCode)}`;
}

/**
 * A result that arrived after its attempt was superseded (re-queued, run elsewhere, or the job
 * ended): not applied, but kept in the job's history, so nothing a worker reports is silently lost.
 */
export function supersededResult(job: Job, workerId: string, attempt: number, outcome: JobOutcome & { readonly leaseExpired?: boolean }, now: number): Effect {
  const detail = `result of superseded attempt ${attempt} from worker ${workerId}: ${describeOutcome(outcome)} (the job is at attempt ${job.attempt}, ${job.state})`;
  return { type: 'persist', job, event: { jobId: job.id, at: now, from: job.state, to: job.state, attempt, workerId, detail } };
}
