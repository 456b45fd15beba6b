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
 * Compares what one worker connection says it holds (in its heartbeats) with what the master
 * placed there. A heartbeat counts against a job only once the worker had received the job's
 * dispatch when it sent it (it carries how many dispatches it had received): a busy master reads
 * heartbeats that left before the dispatch did. A job missing from `missesAllowed + 1` such
 * heartbeats in a row is unreported: the worker lost it. An attempt the worker holds that the
 * master does not expect there is stale, to be killed.
 */
export class ReportLedger {
  private readonly misses = new Map<string, number>();
  /** Dispatches sent on this connection, and the ordinal of each job's latest. */
  private sent = 0;
  private readonly ordinals = new Map<string, number>();

  constructor(private readonly missesAllowed = 1) {}

  dispatched(jobId: string): void {
    this.sent++;
    this.ordinals.set(jobId, this.sent);
  }

  heartbeat(
    expected: ReadonlyMap<string, number>,
    held: readonly HeldAttempt[],
    dispatchesReceived = this.sent,
  ): { unreported: string[]; stale: HeldAttempt[] } {
    const reported = new Map(held.map((h) => [h.jobId, h.attempt]));
    const unreported: string[] = [];
    for (const [jobId, attempt] of expected) {
      // No ordinal: adopted at registration, reported by the worker itself.
      const ordinal = this.ordinals.get(jobId);
      if (ordinal !== undefined && ordinal > dispatchesReceived) continue;
      this.ordinals.delete(jobId);
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
    for (const jobId of this.ordinals.keys()) if (!expected.has(jobId)) this.ordinals.delete(jobId);
    const stale = held.filter((h) => expected.get(h.jobId) !== h.attempt);
    return { unreported, stale };
  }
}
