/**
 * The master's janitor: on a short period it reaps running jobs past their timeout that their
 * worker did not end, and on every heartbeat it compares what the worker says it holds with what
 * was placed there: a job the worker stopped reporting runs again, an attempt it holds that is
 * no longer wanted is killed. Every action is a structured log line (`event: "janitor"`) and,
 * for jobs, an entry in the job's history (the transition's detail).
 */
import { overdueJobs, ReportLedger, type HeldAttempt } from '../core/janitor.js';
import type { JanitorOperations } from './ports.js';
import type { WorkerObserver } from './worker-observer.js';

export interface JanitorSettings {
  /** How often the sweep runs. */
  readonly intervalMs: number;
  /** Past its timeout by this much, a running job is reaped (the worker's own kill comes first). */
  readonly graceMs: number;
}

export const JANITOR_DEFAULTS: JanitorSettings = { intervalMs: 1_000, graceMs: 15_000 };

export class Janitor implements WorkerObserver {
  /** One per worker connection: reset when the worker (re)attaches. */
  private readonly ledgers = new Map<string, ReportLedger>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ops: JanitorOperations,
    private readonly settings: JanitorSettings = JANITOR_DEFAULTS,
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.sweep(Date.now()), this.settings.intervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Reaps every running job past its timeout and grace. */
  sweep(now: number): void {
    const { log } = this.ops;
    // Results are refused while the disk is full: jobs look overdue or unreported that are neither.
    if (this.ops.storeFull()) return;
    for (const job of overdueJobs(this.ops.activeJobs(), now, this.settings.graceMs)) {
      const why = `janitor: ran ${Math.round((now - (job.startedAt ?? now)) / 1000)} s, past its timeout of ${job.spec.timeoutSeconds} s, and its worker did not stop it; killed its process tree`;
      log.warn(
        { event: 'janitor', action: 'reap-overdue', jobId: job.id, attempt: job.attempt, workerId: job.workerId, reason: why },
        'janitor reaped a job past its timeout',
      );
      this.ops.reapOverdue(job.id, now, why);
    }
  }

  /** A JOB_DISPATCH frame goes out to this worker on its current connection. */
  dispatched(workerId: string, jobId: string): void {
    this.ledger(workerId).dispatched(jobId);
  }

  /**
   * A worker's heartbeat listed what it holds, and how many dispatches it had received on this
   * connection when it sent it (workers that predate this send neither: skipped). A job whose
   * dispatch the worker had not yet received is not a miss: a busy master can read heartbeats
   * the worker sent before the dispatch even left.
   */
  heartbeat(workerId: string, held: readonly HeldAttempt[] | undefined, dispatchesReceived: number | undefined, now: number): void {
    if (held === undefined || dispatchesReceived === undefined || this.ops.storeFull()) return;
    const { log } = this.ops;
    const expected = this.ops.attemptsRunningOn(workerId);
    if (expected === undefined) return;
    const { unreported, stale } = this.ledger(workerId).heartbeat(expected, held, dispatchesReceived);
    for (const jobId of unreported) {
      const why = `janitor: worker ${workerId} stopped reporting the job in its heartbeats`;
      log.warn(
        { event: 'janitor', action: 'reap-unreported', jobId, attempt: expected.get(jobId), workerId, reason: why },
        'janitor re-queued a job its worker no longer reports',
      );
      this.ops.reapUnreported(jobId, now, why);
    }
    for (const attempt of stale) {
      // Reported attempts that are finishing (their report in flight) are fenced by attempt anyway.
      const current = this.ops.job(attempt.jobId);
      if (current !== undefined && current.attempt === attempt.attempt && current.workerId === workerId) continue;
      const why = `janitor: the master no longer runs attempt ${attempt.attempt} of this job here`;
      log.warn(
        { event: 'janitor', action: 'kill-stale', jobId: attempt.jobId, attempt: attempt.attempt, workerId, reason: why },
        'janitor killed an attempt its worker should not hold',
      );
      this.ops.kill(workerId, attempt.jobId, attempt.attempt, why);
    }
  }

  /** The worker's connection ended (or a new one began): its counts start again. */
  forget(workerId: string): void {
    this.ledgers.delete(workerId);
  }

  workerAttached(workerId: string): void {
    this.forget(workerId);
  }

  workerDisconnected(workerId: string): void {
    this.forget(workerId);
  }

  private ledger(workerId: string): ReportLedger {
    let ledger = this.ledgers.get(workerId);
    if (ledger === undefined) this.ledgers.set(workerId, (ledger = new ReportLedger()));
    return ledger;
  }
}
