import { TitanError, ErrorCode } from '../common/errors.js';
import { DagBook, type ParentStatus } from './dag-book.js';
import { DelayHeap } from './delay-heap.js';
import type { Effect } from './effects.js';
import { decideGate } from './gate.js';
import { isFinal, type Job, type JobState } from './job.js';
import { Queues } from './queues.js';
import { backoffMs, hasRetriesLeft } from './retry-policy.js';
import { transition } from './transitions.js';
import { Workers } from './workers.js';

/** A job whose worker was lost this many times while running it is a poison pill. */
export const POISON_PILL_CRASHES = 3;

/**
 * The state and the moves the scheduler's public operations are made of: requeue, finish,
 * gates, delays, and the settling of finished jobs into their children and DAGs.
 */
export abstract class SchedulerEngine {
  protected readonly jobs = new Map<string, Job>();
  protected readonly queues = new Queues();
  protected readonly delays = new DelayHeap();
  protected readonly dagBook = new DagBook();
  readonly workers = new Workers();
  protected nextSeq: number;
  protected nextDagSeq: number;
  protected armedWake: number | null = null;
  protected readonly finishedQueue: Job[] = [];
  /** Pending jobs whose parents are done and which wait for a person to approve them. */
  protected readonly awaitingApproval = new Set<string>();

  constructor(firstSeq = 1, firstDagSeq = 1) {
    this.nextSeq = firstSeq;
    this.nextDagSeq = firstDagSeq;
  }


  protected statusOf(parentId: string, finished: ReadonlyMap<string, JobState>): ParentStatus {
    const active = this.jobs.get(parentId);
    if (active?.serviceReady === true) return 'succeeded';
    if (active !== undefined) return isFinal(active.state) ? active.state : 'active';
    return finished.get(parentId);
  }

  /**
   * The worker's connection dropped. Its attempts may still run (a network cut): they stay its own
   * until it re-registers or its heartbeat deadline passes (the lease rule); it takes no new work.
   * Returns whether it holds anything; one that holds nothing is lost at once.
   */
  workerUnreachable(workerId: string, now: number, why: string): { holding: boolean; effects: Effect[] } {
    if (this.workers.markUnreachable(workerId)) return { holding: true, effects: [] };
    return { holding: false, effects: this.workerLost(workerId, now, why) };
  }

  /** The heartbeat deadline passed (or the worker is known gone): its attempts run again elsewhere. */
  workerLost(workerId: string, now: number, why: string): Effect[] {
    const effects: Effect[] = [];
    for (const jobId of this.workers.lose(workerId)) this.lostWhileRunning(jobId, now, `worker ${workerId} was lost: ${why}`, effects);
    this.drainWork(now, effects);
    return effects;
  }

  /** After a restart, jobs whose worker never came back within the deadline go back to the queue. */
  adoptionDeadlinePassed(now: number): Effect[] {
    const effects: Effect[] = [];
    for (const [workerId, jobId] of this.workers.abandonExpected()) {
      const job = this.jobs.get(jobId);
      if (job !== undefined) this.requeue(job, now, `worker ${workerId} did not come back after the master restarted`, effects);
    }
    this.drainWork(now, effects);
    return effects;
  }

  protected current(workerId: string, jobId: string, attempt: number): Job | undefined {
    const job = this.jobs.get(jobId);
    if (job === undefined || job.attempt !== attempt || job.workerId !== workerId || isFinal(job.state)) return undefined;
    return job;
  }

  protected lostWhileRunning(jobId: string, now: number, why: string, effects: Effect[]): void {
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

  protected failAttempt(job: Job, now: number, why: string, effects: Effect[]): void {
    if (hasRetriesLeft(job)) {
      this.requeue(job, now, `attempt ${job.attempt} failed: ${why}`, effects, backoffMs(job.spec.retryBackoff, job.attempt - job.attemptBase));
    } else {
      this.finish(job, job.spec.retries > 0 ? 'dead' : 'failed', now, why, effects);
    }
  }

  protected stop(job: Job, state: 'cancelled' | 'skipped' | 'stopped', now: number, why: string, effects: Effect[]): void {
    if ((job.state === 'assigned' || job.state === 'running') && job.workerId !== null) {
      effects.push({ type: 'kill', workerId: job.workerId, jobId: job.id, attempt: job.attempt });
    }
    this.workers.release(job);
    this.finish(job, state, now, why, effects);
  }

  protected requeue(job: Job, now: number, why: string, effects: Effect[], delayMs = 0): void {
    this.workers.release(job);
    const from = transition(job, 'queued');
    job.workerId = null;
    job.reason = why;
    job.notBefore = delayMs > 0 ? now + delayMs : null;
    effects.push(persist(job, from, now, why));
    this.makeReady(job, now, effects, false);
  }

  /** A queued job joins its queue, or the delay heap when its time has not come. */
  protected makeReady(job: Job, now: number, effects: Effect[], firstTime: boolean): void {
    if (firstTime) {
      const due = Math.max(now + (job.spec.delaySeconds ?? 0) * 1000, job.spec.runAt ?? 0);
      if (due > now) job.notBefore = due;
    }
    if (job.notBefore !== null && job.notBefore > now) {
      this.armDelay(job.id, job.notBefore, effects);
      return;
    }
    this.queues.push(job);
  }

  protected armDelay(jobId: string, at: number, effects: Effect[]): void {
    this.delays.add(jobId, at);
    const next = this.delays.next();
    if (next !== null && (this.armedWake === null || next < this.armedWake)) {
      this.armedWake = next;
      effects.push({ type: 'wake', at: next });
    }
  }

  /**
   * The job's parents are done but it needs a person's approval: it stays pending until
   * approve/reject or its deadline, which is kept in notBefore so it survives a restart.
   */
  protected enterApproval(job: Job, now: number, effects: Effect[]): void {
    const approval = job.spec.approval;
    if (approval === undefined) return;
    this.awaitingApproval.add(job.id);
    job.reason = `awaiting approval: ${approval.message}`;
    if (approval.timeoutSeconds > 0) {
      job.notBefore ??= now + approval.timeoutSeconds * 1000;
      this.armDelay(job.id, job.notBefore, effects);
    }
    effects.push(persist(job, job.state, now, job.reason));
  }

  /** A retried decision-only gate is asked again, never passed: only a person's approval lets it succeed. */
  protected askAgain(job: Job, now: number, effects: Effect[]): void {
    const from = transition(job, 'pending');
    effects.push(persist(job, from, now, 'retried by request'));
    this.enterApproval(job, now, effects);
    this.drainWork(now, effects);
  }

  /** Jobs waiting for a person's decision. */
  *awaitingDecision(): IterableIterator<Job> {
    for (const id of this.awaitingApproval) {
      const job = this.jobs.get(id);
      if (job !== undefined) yield job;
    }
  }

  isAwaitingApproval(jobId: string): boolean {
    return this.awaitingApproval.has(jobId);
  }

  /** A person approved the job: it runs (after its delay, if any); a decision-only gate succeeds. */
  approve(jobId: string, by: string, now: number): Effect[] {
    const job = this.awaiting(jobId);
    if (job.spec.approval?.decisionOnly === true) {
      const effects: Effect[] = [];
      this.finish(job, 'succeeded', now, `approved by ${by}`, effects);
      this.drainWork(now, effects);
      return effects;
    }
    this.awaitingApproval.delete(jobId);
    this.delays.remove(jobId);
    job.notBefore = null;
    const from = transition(job, 'queued');
    job.reason = `approved by ${by}`;
    const effects: Effect[] = [persist(job, from, now, job.reason)];
    this.makeReady(job, now, effects, true);
    this.drainWork(now, effects);
    return effects;
  }

  /** A person rejected the job: it fails, and its DAG follows its trigger rules. */
  reject(jobId: string, by: string, why: string, now: number): Effect[] {
    const job = this.awaiting(jobId);
    const effects: Effect[] = [];
    this.finish(job, 'failed', now, `rejected by ${by}${why.length > 0 ? `: ${why}` : ''}`, effects);
    this.drainWork(now, effects);
    return effects;
  }

  private awaiting(jobId: string): Job {
    const job = this.jobs.get(jobId);
    if (job === undefined || !this.awaitingApproval.has(jobId)) {
      const state = job === undefined ? 'not active' : `${job.state}${job.state === 'pending' ? ' (its parents are not done)' : ''}`;
      throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${jobId} is not awaiting approval (it is ${state})`);
    }
    return job;
  }

  /** Every parent of a pending job is final: run it or skip it by its trigger rule. */
  protected openGate(job: Job, gate: Parameters<typeof decideGate>[0], now: number, effects: Effect[]): void {
    const decision = decideGate(gate, job.spec.triggerRule ?? 'all_success');
    if (!decision.run) {
      this.finish(job, 'skipped', now, decision.why, effects);
      return;
    }
    if (job.spec.approval !== undefined) {
      this.enterApproval(job, now, effects);
      return;
    }
    const from = transition(job, 'queued');
    effects.push(persist(job, from, now, null));
    this.makeReady(job, now, effects, true);
  }

  protected finish(job: Job, state: JobState, now: number, why: string | null, effects: Effect[]): void {
    const from = transition(job, state);
    job.finishedAt = now;
    job.reason = why;
    // Only a queued or waiting job can be in a queue, the delay heap or the approvals; most
    // finishing jobs were running, and skipping the lookups is measurable on large DAGs.
    if (from === 'queued') this.queues.remove(job);
    if (job.notBefore !== null) this.delays.remove(job.id);
    job.notBefore = null;
    if (from === 'pending') this.awaitingApproval.delete(job.id);
    this.jobs.delete(job.id);
    effects.push(persist(job, from, now, why), { type: 'finished', job });
    this.finishedQueue.push(job);
  }

  /** Hands a job's outcome to its waiting children and counts it out of its DAG. */
  protected release(job: Job, as: JobState, now: number, effects: Effect[]): void {
    for (const childId of this.dagBook.takeAffinityChildren(job.id)) {
      // Affinity follows the first parent: remember where it ran while the child still waits.
      const child = this.jobs.get(childId);
      if (child !== undefined && child.state === 'pending') child.pinnedWorker = job.workerId;
    }
    for (const waiter of this.dagBook.parentFinished(job, as)) {
      if (waiter.job.state === 'pending') this.openGate(waiter.job, waiter, now, effects);
    }
    // The DAG row is rewritten with its counters on every settle: a restarted master trusts them.
    const settled = this.dagBook.settle(job, as === job.state && countsAsDagFailure(job), now);
    if (settled === undefined) return;
    effects.push({ type: 'persistDag', dag: settled });
    if (settled.unfinished <= 0) effects.push({ type: 'dagFinished', dag: settled });
  }

  /** Settles finished jobs (children, DAGs) iteratively, then places queued work. */
  protected drainWork(now: number, effects: Effect[]): void {
    for (let job = this.finishedQueue.shift(); job !== undefined; job = this.finishedQueue.shift()) {
      // A service that was ready released its children and its DAG then, not now.
      if (!job.serviceReady) this.release(job, job.state, now, effects);
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

export function countsAsDagFailure(job: Job): boolean {
  return (job.state === 'failed' || job.state === 'dead' || job.state === 'cancelled') && job.spec.onFailure === undefined;
}

export function persist(job: Job, from: JobState | null, now: number, detail: string | null): Effect {
  return {
    type: 'persist',
    job,
    event: { jobId: job.id, at: now, from, to: job.state, attempt: job.attempt, workerId: job.workerId, detail },
  };
}
