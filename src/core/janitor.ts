/**
 * The master's janitor, its pure part: which running jobs are stale. A job is overdue when it
 * runs past its timeout by more than the grace its worker needs to kill it and report; it is
 * unreported when its worker's heartbeats stopped listing it. Time comes in as `now`.
 */
import type { Job } from './job.js';

export interface HeldAttempt {
  readonly jobId: string;
  readonly attempt: number;
}

/** Running jobs past their timeout plus `graceMs`, oldest deadline first. */
export function overdueJobs(jobs: Iterable<Job>, now: number, graceMs: number): Job[] {
  const out: Array<{ job: Job; due: number }> = [];
  for (const job of jobs) {
    if (job.state !== 'running' || job.startedAt === null || job.spec.timeoutSeconds <= 0 || job.spec.service !== undefined) continue;
    const due = job.startedAt + job.spec.timeoutSeconds * 1000 + graceMs;
    if (now > due) out.push({ job, due });
  }
  return out.sort((a, b) => a.due - b.due).map((o) => o.job);
}

/**
 * Compares what each worker says it holds (in its heartbeats) with what the master placed there.
 * A job missing from `missesAllowed + 1` heartbeats in a row is unreported: one miss is a dispatch
 * still on its way; more means the worker lost it. An attempt the worker holds that the master
 * does not expect there is stale, to be killed.
 */
export class ReportLedger {
  private readonly misses = new Map<string, number>();

  constructor(private readonly missesAllowed = 1) {}

  heartbeat(expected: ReadonlyMap<string, number>, held: readonly HeldAttempt[]): { unreported: string[]; stale: HeldAttempt[] } {
    const reported = new Map(held.map((h) => [h.jobId, h.attempt]));
    const unreported: string[] = [];
    for (const [jobId, attempt] of expected) {
      if (reported.get(jobId) === attempt) {
        this.misses.delete(jobId);
        continue;
      }
      const misses = (this.misses.get(jobId) ?? 0) + 1;
      if (misses > this.missesAllowed) {
        this.misses.delete(jobId);
        unreported.push(jobId);
      } else {
        this.misses.set(jobId, misses);
      }
    }
    for (const jobId of this.misses.keys()) if (!expected.has(jobId)) this.misses.delete(jobId);
    const stale = held.filter((h) => expected.get(h.jobId) !== h.attempt);
    return { unreported, stale };
  }
}
