import { TitanError, ErrorCode } from '../common/errors.js';
import type { Effect, WorkerReportedJob } from './effects.js';
import { isFinal, type Job, type JobOutcome, type JobSpec, type JobState } from './job.js';
import { JobQueue } from './job-queue.js';
import { placeJob, requirementKey } from './placement.js';
import { transition } from './transitions.js';
import type { WorkerRecord, WorkerResources } from './worker-record.js';

export interface WorkerRegistration {
  readonly id: string;
  readonly host: string;
  readonly tags: readonly string[];
  readonly slots: number;
  readonly resources: WorkerResources;
  /** Attempts the worker still holds (running, or finished but not yet acknowledged). */
  readonly holding: readonly WorkerReportedJob[];
}

/**
 * The scheduling core: the live state of jobs and workers, changed only through the methods
 * below, each of which returns the effects the master must apply. No I/O and no clock: `now` is
 * passed in. Final jobs leave memory once reported (the store keeps them).
 */
export class Scheduler {
  private readonly jobs = new Map<string, Job>();
  private readonly queues = new Map<string, JobQueue>();
  private readonly workers = new Map<string, WorkerRecord>();
  /** After a master restart: jobs that were on a worker which has not reconnected yet. */
  private readonly awaitingWorker = new Map<string, Set<string>>();
  private nextSeq: number;
  private workerSeq = 0;

  constructor(firstSeq = 1) {
    this.nextSeq = firstSeq;
  }

  job(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  worker(id: string): WorkerRecord | undefined {
    return this.workers.get(id);
  }

  liveWorkers(): WorkerRecord[] {
    return [...this.workers.values()].filter((w) => w.health !== 'dead');
  }

  activeJobs(): IterableIterator<Job> {
    return this.jobs.values();
  }

  queueDepths(): Record<string, number> {
    const depths: Record<string, number> = {};
    for (const [key, queue] of this.queues) depths[key] = queue.size;
    return depths;
  }

  /** Rebuilds memory from the store's active jobs after a restart. */
  recover(active: readonly Job[], now: number): Effect[] {
    const effects: Effect[] = [];
    for (const job of active) {
      this.nextSeq = Math.max(this.nextSeq, job.seq + 1);
      this.jobs.set(job.id, job);
      if (job.state === 'queued') this.enqueue(job);
      else if ((job.state === 'assigned' || job.state === 'running') && job.workerId !== null) {
        let held = this.awaitingWorker.get(job.workerId);
        if (held === undefined) this.awaitingWorker.set(job.workerId, (held = new Set()));
        held.add(job.id);
      } else if (job.state === 'assigned' || job.state === 'running') {
        this.requeue(job, now, 'the master restarted before the job reached a worker', effects);
      }
    }
    return effects;
  }

  submit(id: string, spec: JobSpec, now: number): Effect[] {
    if (this.jobs.has(id)) throw new TitanError(ErrorCode.INVALID_REQUEST, `job id ${id} is already in use`);
    const job: Job = {
      id,
      spec,
      state: 'queued',
      attempt: 0,
      workerId: null,
      submittedAt: now,
      seq: this.nextSeq++,
      startedAt: null,
      finishedAt: null,
      exitCode: null,
      signal: null,
      reason: null,
    };
    this.jobs.set(id, job);
    const effects: Effect[] = [persist(job, null, now, 'submitted')];
    this.enqueue(job);
    this.pump(now, effects);
    return effects;
  }

  registerWorker(reg: WorkerRegistration, now: number): Effect[] {
    const effects: Effect[] = [];
    const previous = this.workers.get(reg.id);
    if (previous !== undefined && previous.health !== 'dead') this.loseWorker(previous, now, 'it re-registered', effects, reg.holding);
    const worker: WorkerRecord = {
      id: reg.id,
      host: reg.host,
      tags: new Set(reg.tags),
      slots: Math.max(1, reg.slots),
      resources: reg.resources,
      health: 'healthy',
      running: new Set(),
      lastSeen: now,
      seq: previous?.seq ?? this.workerSeq++,
    };
    this.workers.set(reg.id, worker);
    this.adopt(worker, reg.holding, now, effects);
    this.pump(now, effects);
    return effects;
  }

  heartbeat(workerId: string, now: number): boolean {
    const worker = this.workers.get(workerId);
    if (worker === undefined || worker.health === 'dead') return false;
    worker.lastSeen = now;
    return true;
  }

  /** The connection dropped or the heartbeat deadline passed. */
  workerLost(workerId: string, now: number, why: string): Effect[] {
    const effects: Effect[] = [];
    const worker = this.workers.get(workerId);
    if (worker !== undefined && worker.health !== 'dead') this.loseWorker(worker, now, why, effects, []);
    this.pump(now, effects);
    return effects;
  }

  /** A draining worker takes no new work but finishes what it has. */
  drainWorker(workerId: string): void {
    const worker = this.workers.get(workerId);
    if (worker !== undefined && worker.health === 'healthy') worker.health = 'draining';
  }

  /** After a restart, jobs whose worker never came back within the deadline go back to the queue. */
  adoptionDeadlinePassed(now: number): Effect[] {
    const effects: Effect[] = [];
    for (const [workerId, held] of this.awaitingWorker) {
      for (const jobId of held) {
        const job = this.jobs.get(jobId);
        if (job !== undefined) this.requeue(job, now, `worker ${workerId} did not come back after the master restarted`, effects);
      }
    }
    this.awaitingWorker.clear();
    this.pump(now, effects);
    return effects;
  }

  jobStarted(workerId: string, jobId: string, attempt: number, now: number): Effect[] {
    const job = this.current(workerId, jobId, attempt);
    if (job === undefined || job.state !== 'assigned') return [];
    transition(job, 'running');
    job.startedAt = now;
    return [persist(job, 'assigned', now, null)];
  }

  jobFinished(workerId: string, jobId: string, attempt: number, outcome: JobOutcome, now: number): Effect[] {
    const job = this.current(workerId, jobId, attempt);
    if (job === undefined) return [];
    const effects: Effect[] = [];
    this.release(job);
    job.exitCode = outcome.exitCode;
    job.signal = outcome.signal;
    if (job.startedAt === null) job.startedAt = now - outcome.durationMs;
    if (outcome.exitCode === 0 && outcome.error === undefined) {
      this.finish(job, 'succeeded', now, null, effects);
    } else {
      const why = outcome.error ?? (outcome.signal !== null ? `killed by ${outcome.signal}` : `exited with code ${String(outcome.exitCode)}`);
      if (job.attempt <= job.spec.retries) this.requeue(job, now, `attempt ${job.attempt} failed: ${why}`, effects);
      else this.finish(job, 'failed', now, why, effects);
    }
    this.pump(now, effects);
    return effects;
  }

  cancel(jobId: string, now: number): Effect[] {
    const job = this.jobs.get(jobId);
    if (job === undefined) throw new TitanError(ErrorCode.UNKNOWN_JOB, `no active job ${jobId} (it may have finished already: see titan jobs)`);
    const effects: Effect[] = [];
    if ((job.state === 'assigned' || job.state === 'running') && job.workerId !== null) {
      effects.push({ type: 'kill', workerId: job.workerId, jobId, attempt: job.attempt });
    }
    this.release(job);
    this.finish(job, 'cancelled', now, 'cancelled by request', effects);
    this.pump(now, effects);
    return effects;
  }

  /** Why a queued job is not running, for status output; null when it is not waiting. */
  waitingReason(job: Job): string | null {
    if (job.state !== 'queued') return null;
    const placement = placeJob(job.spec.requirement, this.workers.values());
    return placement.placed ? 'about to be placed' : placement.reason;
  }

  private current(workerId: string, jobId: string, attempt: number): Job | undefined {
    const job = this.jobs.get(jobId);
    if (job === undefined || job.attempt !== attempt || job.workerId !== workerId || isFinal(job.state)) return undefined;
    return job;
  }

  private adopt(worker: WorkerRecord, holding: readonly WorkerReportedJob[], now: number, effects: Effect[]): void {
    const expected = this.awaitingWorker.get(worker.id) ?? new Set<string>();
    this.awaitingWorker.delete(worker.id);
    for (const held of holding) {
      const job = this.jobs.get(held.jobId);
      if (job !== undefined && job.attempt === held.attempt && job.workerId === worker.id && !isFinal(job.state)) {
        worker.running.add(job.id);
        expected.delete(job.id);
      } else {
        effects.push({ type: 'kill', workerId: worker.id, jobId: held.jobId, attempt: held.attempt });
      }
    }
    for (const jobId of expected) {
      const job = this.jobs.get(jobId);
      if (job !== undefined) this.requeue(job, now, `worker ${worker.id} came back without it`, effects);
    }
  }

  private loseWorker(worker: WorkerRecord, now: number, why: string, effects: Effect[], keep: readonly WorkerReportedJob[]): void {
    worker.health = 'dead';
    const kept = new Set(keep.map((k) => `${k.jobId}#${k.attempt}`));
    for (const jobId of [...worker.running]) {
      const job = this.jobs.get(jobId);
      worker.running.delete(jobId);
      if (job !== undefined && !kept.has(`${job.id}#${job.attempt}`)) {
        this.requeue(job, now, `worker ${worker.id} was lost: ${why}`, effects);
      }
    }
  }

  private requeue(job: Job, now: number, why: string, effects: Effect[]): void {
    this.release(job);
    const from = transition(job, 'queued');
    job.workerId = null;
    job.reason = why;
    effects.push(persist(job, from, now, why));
    this.enqueue(job);
  }

  private finish(job: Job, state: JobState, now: number, why: string | null, effects: Effect[]): void {
    const from = transition(job, state);
    job.finishedAt = now;
    job.reason = why;
    this.queueFor(job).remove(job.id);
    this.jobs.delete(job.id);
    effects.push(persist(job, from, now, why), { type: 'finished', job });
  }

  private release(job: Job): void {
    if (job.workerId !== null) this.workers.get(job.workerId)?.running.delete(job.id);
  }

  private enqueue(job: Job): void {
    this.queueFor(job).push(job);
  }

  private queueFor(job: Job): JobQueue {
    const key = requirementKey(job.spec.requirement);
    let queue = this.queues.get(key);
    if (queue === undefined) this.queues.set(key, (queue = new JobQueue()));
    return queue;
  }

  /** Places queued work while some queue's head fits a worker; queues are visited by head priority. */
  private pump(now: number, effects: Effect[]): void {
    const pending = [...this.queues.values()].filter((q) => q.size > 0);
    pending.sort((a, b) => comparePriority(a.peek(), b.peek()));
    for (const queue of pending) {
      for (let job = queue.peek(); job !== undefined; job = queue.peek()) {
        const placement = placeJob(job.spec.requirement, this.workers.values());
        if (!placement.placed) break;
        queue.pop();
        const worker = this.workers.get(placement.workerId) as WorkerRecord;
        worker.running.add(job.id);
        const from = transition(job, 'assigned');
        job.attempt += 1;
        job.workerId = worker.id;
        job.reason = null;
        effects.push(persist(job, from, now, null), { type: 'dispatch', workerId: worker.id, job });
      }
    }
  }
}

function comparePriority(a: Job | undefined, b: Job | undefined): number {
  if (a === undefined || b === undefined) return 0;
  return b.spec.priority - a.spec.priority || a.seq - b.seq;
}

function persist(job: Job, from: JobState | null, now: number, detail: string | null): Effect {
  return {
    type: 'persist',
    job,
    event: { jobId: job.id, at: now, from, to: job.state, attempt: job.attempt, workerId: job.workerId, detail },
  };
}
