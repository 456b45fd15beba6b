import type { ActiveJobs } from './active-jobs.js';
import type { Approvals } from './approvals.js';
import { countsAsDagFailure, type DagBook } from './dag-book.js';
import type { AdmissionHolds } from './admission-holds.js';
import type { Effect } from './effects.js';
import { decideGate } from './gate.js';
import type { Job, JobState } from './job.js';
import { persist } from './persist.js';
import type { Queues } from './queues.js';
import { backoffMs, hasRetriesLeft } from './retry-policy.js';
import { transition } from './transitions.js';
import type { Wakeups } from './wakeups.js';
import type { Workers } from './workers.js';

/** A job whose worker was lost this many times while running it is a poison pill. */
export const POISON_PILL_CRASHES = 3;

/** The scheduler's state, each part keeping its own. */
export interface SchedulerParts {
  readonly jobs: ActiveJobs;
  readonly queues: Queues;
  readonly wakeups: Wakeups;
  readonly approvals: Approvals;
  readonly dags: DagBook;
  readonly workers: Workers;
  readonly holds: AdmissionHolds;
}

/**
 * The moves the scheduler's operations are made of: requeue, make ready, open a gate, finish,
 * fail or lose an attempt, and settling finished jobs into their children and DAGs before
 * placing queued work. Every move appends the effects it causes.
 */
export class JobLifecycle {
  private readonly jobs: ActiveJobs;
  private readonly queues: Queues;
  private readonly wakeups: Wakeups;
  private readonly approvals: Approvals;
  private readonly dags: DagBook;
  private readonly workers: Workers;
  private readonly holds: AdmissionHolds;
  /** Jobs finished since the last drain, whose children and DAGs have not heard yet. */
  private readonly outcomesToPass: Job[] = [];

  constructor(parts: SchedulerParts) {
    ({
      jobs: this.jobs,
      queues: this.queues,
      wakeups: this.wakeups,
      approvals: this.approvals,
      dags: this.dags,
      workers: this.workers,
      holds: this.holds,
    } = parts);
  }

  lostWhileRunning(jobId: string, now: number, why: string, effects: Effect[]): void {
    const job = this.jobs.get(jobId);
    if (job === undefined) return;
    job.crashes++;
    if (job.crashes >= POISON_PILL_CRASHES) {
      this.workers.release(job);
      this.finish(job, 'dead', now, `poison pill: its worker was lost ${job.crashes} times while running it (last: ${why})`, effects);
    } else {
      this.requeue(job, now, why, effects);
    }
  }

  failAttempt(job: Job, now: number, why: string, effects: Effect[]): void {
    if (hasRetriesLeft(job)) {
      this.requeue(job, now, `attempt ${job.attempt} failed: ${why}`, effects, backoffMs(job.spec.retryBackoff, job.attempt - job.attemptBase));
    } else {
      this.finish(job, job.spec.retries > 0 ? 'dead' : 'failed', now, why, effects);
    }
  }

  stop(job: Job, state: 'cancelled' | 'skipped' | 'stopped', now: number, why: string, effects: Effect[]): void {
    if ((job.state === 'assigned' || job.state === 'running') && job.workerId !== null) {
      effects.push({ type: 'kill', workerId: job.workerId, jobId: job.id, attempt: job.attempt });
    }
    this.workers.release(job);
    this.finish(job, state, now, why, effects);
  }

  requeue(job: Job, now: number, why: string, effects: Effect[], delayMs = 0): void {
    this.workers.release(job);
    const from = transition(job, 'queued');
    job.workerId = null;
    job.reason = why;
    job.notBefore = delayMs > 0 ? now + delayMs : null;
    effects.push(persist(job, from, now, why));
    this.makeReady(job, now, effects, false);
  }

  /**
   * A queued job joins its queue, or waits for its time (its delay or run_at the first time); a
   * job of an admission still held is parked until its release (admission-holds.ts).
   */
  makeReady(job: Job, now: number, effects: Effect[], firstTime: boolean): void {
    if (firstTime) {
      const due = Math.max(now + (job.spec.delaySeconds ?? 0) * 1000, job.spec.runAt ?? 0);
      if (due > now) job.notBefore = due;
    }
    if (this.holds.park(job)) return;
    if (job.notBefore !== null && job.notBefore > now) {
      this.wakeups.hold(job.id, job.notBefore, effects);
      return;
    }
    this.queues.push(job);
  }

  /** A retried decision-only gate is asked again, never passed: only a person's approval lets it succeed. */
  askAgain(job: Job, now: number, effects: Effect[]): void {
    const from = transition(job, 'pending');
    effects.push(persist(job, from, now, 'retried by request'));
    this.approvals.enter(job, now, effects);
    this.drainWork(now, effects);
  }

  /** Every parent of a pending job is final: run it or skip it by its trigger rule. */
  openGate(job: Job, gate: Parameters<typeof decideGate>[0], now: number, effects: Effect[]): void {
    const decision = decideGate(gate, job.spec.triggerRule ?? 'all_success');
    if (!decision.run) {
      this.finish(job, 'skipped', now, decision.why, effects);
      return;
    }
    if (job.spec.approval !== undefined) {
      this.approvals.enter(job, now, effects);
      return;
    }
    const from = transition(job, 'queued');
    effects.push(persist(job, from, now, null));
    this.makeReady(job, now, effects, true);
  }

  finish(job: Job, state: JobState, now: number, why: string | null, effects: Effect[]): void {
    const from = transition(job, state);
    job.finishedAt = now;
    job.reason = why;
    // Only a queued or waiting job can be in a queue, among the held jobs or the approvals; most
    // finishing jobs were running, and skipping the lookups is measurable on large DAGs.
    if (from === 'queued') this.queues.remove(job);
    if (job.notBefore !== null) this.wakeups.forget(job.id);
    job.notBefore = null;
    if (from === 'pending') this.approvals.delete(job.id);
    this.jobs.delete(job.id);
    effects.push(persist(job, from, now, why), { type: 'finished', job });
    this.outcomesToPass.push(job);
  }

  /** Hands a job's outcome to its waiting children and counts it out of its DAG. */
  passOutcome(job: Job, as: JobState, now: number, effects: Effect[]): void {
    for (const childId of this.dags.takeAffinityChildren(job.id)) {
      // Affinity follows the first parent: remember where it ran while the child still waits.
      const child = this.jobs.get(childId);
      if (child !== undefined && child.state === 'pending') child.pinnedWorker = job.workerId;
    }
    for (const waiter of this.dags.parentFinished(job, as)) {
      if (waiter.job.state === 'pending') this.openGate(waiter.job, waiter, now, effects);
    }
    // The DAG row is rewritten with its counters on every settle: a restarted master trusts them.
    const settled = this.dags.settle(job, as === job.state && countsAsDagFailure(job), now);
    if (settled === undefined) return;
    effects.push({ type: 'persistDag', dag: settled });
    if (settled.unfinished <= 0) effects.push({ type: 'dagFinished', dag: settled });
  }

  /** Passes on the outcomes of finished jobs (iteratively, not recursively), then places queued work. */
  drainWork(now: number, effects: Effect[]): void {
    for (let job = this.outcomesToPass.shift(); job !== undefined; job = this.outcomesToPass.shift()) {
      // A service that was ready passed its outcome on then, not now.
      if (!job.serviceReady) this.passOutcome(job, job.state, now, effects);
    }
    this.queues.pump(this.workers, (job, workerId) => {
      const from = transition(job, 'assigned');
      job.attempt += 1;
      job.workerId = workerId;
      job.reason = null;
      effects.push(persist(job, from, now, null), { type: 'dispatch', workerId, job });
    });
  }
}
