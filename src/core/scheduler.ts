import { TitanError, ErrorCode } from '../common/errors.js';
import { newDag, type Dag } from './dag.js';
import type { Effect } from './effects.js';
import { isFinal, newJob, type Job, type JobOutcome, type JobSpec, type JobState } from './job.js';
import { placeJob } from './placement.js';
import { formatMb } from './resources.js';
import type { Queues } from './queues.js';
import { countsAsDagFailure, persist, SchedulerEngine } from './scheduler-engine.js';
import { transition } from './transitions.js';
import type { Workers, WorkerRegistration } from './workers.js';
import { supersededResult } from './lease.js';

export type { WorkerRegistration } from './workers.js';
export { POISON_PILL_CRASHES } from './scheduler-engine.js';

const NO_PARENTS: ReadonlyMap<string, JobState> = new Map();

/**
 * The scheduling core: the live state of jobs, DAG runs and workers, changed only through the
 * methods below, each of which returns the effects the master must apply. No I/O and no clock:
 * `now` is passed in. Final jobs leave memory (the store keeps them).
 */
export class Scheduler extends SchedulerEngine {
  /** statusOf when every parent is in memory (the common case): made once, not per submit. */
  private readonly statusOfLive = (parentId: string): ReturnType<SchedulerEngine['statusOf']> => this.statusOf(parentId, NO_PARENTS);

  job(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  dag(id: string): Dag | undefined {
    return this.dagBook.get(id);
  }

  worker(id: string): ReturnType<Workers['get']> {
    return this.workers.get(id);
  }

  liveWorkers(): ReturnType<Workers['live']> {
    return this.workers.live();
  }

  activeJobs(): IterableIterator<Job> {
    return this.jobs.values();
  }

  queueDepths(): Record<string, number> {
    return this.queues.depths();
  }

  /** Ready work per capability pool, what the autoscaler weighs against free slots. */
  queueDemand(): ReturnType<Queues['demand']> {
    return this.queues.demand();
  }

  /** Rebuilds memory from the store after a restart; parentStates holds the final parents of pending jobs. */
  recover(active: readonly Job[], dags: readonly Dag[], parentStates: ReadonlyMap<string, JobState>, now: number): Effect[] {
    const effects: Effect[] = [];
    for (const dag of dags) {
      this.dagBook.add(dag);
      this.nextDagSeq = Math.max(this.nextDagSeq, dag.seq + 1);
    }
    for (const job of active) {
      this.nextSeq = Math.max(this.nextSeq, job.seq + 1);
      this.jobs.set(job.id, job);
    }
    for (const job of active) {
      if (job.state === 'pending') {
        const gate = this.dagBook.attach(job, (id) => this.statusOf(id, parentStates));
        if (gate.remaining === 0 && (job.spec.parents?.length ?? 0) > 0) this.openGate(job, gate, now, effects);
        else if (gate.remaining === 0) this.enterApproval(job, now, effects);
      } else if (job.state === 'queued') {
        this.makeReady(job, now, effects, false);
      } else if (job.workerId !== null) {
        this.workers.expectBack(job.workerId, job.id);
      } else {
        this.requeue(job, now, 'the master restarted before the job reached a worker', effects);
      }
    }
    this.drainWork(now, effects);
    return effects;
  }

  createDag(id: string, name: string, now: number): Effect[] {
    if (this.dagBook.get(id) !== undefined) throw new TitanError(ErrorCode.INVALID_REQUEST, `DAG id ${id} is already in use`);
    const dag = newDag(id, name, this.nextDagSeq++, now);
    this.dagBook.add(dag);
    return [{ type: 'persistDag', dag }];
  }

  /**
   * Accepts a job. Parents that are no longer in memory must be given in finishedParents with
   * their final state (the shell reads them from the store).
   */
  submit(id: string, spec: JobSpec, now: number, finishedParents: ReadonlyMap<string, JobState> = NO_PARENTS): Effect[] {
    if (this.jobs.has(id)) throw new TitanError(ErrorCode.INVALID_REQUEST, `job id ${id} is already in use`);
    const hasParents = (spec.parents?.length ?? 0) > 0;
    const job = newJob(id, spec, this.nextSeq, now, hasParents || spec.approval !== undefined ? 'pending' : 'queued');
    const gate = hasParents ? this.dagBook.attach(job, finishedParents === NO_PARENTS ? this.statusOfLive : (p) => this.statusOf(p, finishedParents)) : null;
    const dag = this.dagBook.enroll(job);
    this.nextSeq++;
    this.jobs.set(id, job);
    const effects: Effect[] = [persist(job, null, now, 'submitted')];
    if (dag !== undefined) effects.push({ type: 'persistDag', dag });
    if (gate === null && spec.approval !== undefined) this.enterApproval(job, now, effects);
    else if (gate === null) this.makeReady(job, now, effects, true);
    else if (gate.remaining === 0) this.openGate(job, gate, now, effects);
    this.drainWork(now, effects);
    return effects;
  }

  registerWorker(reg: WorkerRegistration, now: number): Effect[] {
    const effects: Effect[] = [];
    const { lost, stale, adopted, missing } = this.workers.register(reg, now, (jobId, attempt) => {
      const job = this.jobs.get(jobId);
      return job !== undefined && job.attempt === attempt && job.workerId === reg.id && !isFinal(job.state) ? job : undefined;
    });
    for (const jobId of lost) this.lostWhileRunning(jobId, now, `worker ${reg.id} re-registered without it`, effects);
    for (const s of stale) effects.push({ type: 'kill', workerId: reg.id, jobId: s.jobId, attempt: s.attempt });
    void adopted;
    for (const jobId of missing) {
      const job = this.jobs.get(jobId);
      if (job !== undefined) this.requeue(job, now, `worker ${reg.id} came back without it`, effects);
    }
    this.drainWork(now, effects);
    return effects;
  }

  heartbeat(workerId: string, now: number): boolean {
    return this.workers.heartbeat(workerId, now);
  }

  drainWorker(workerId: string): void {
    this.workers.drain(workerId);
  }

  /** Delayed and backed-off jobs whose time has come join their queues. */
  wake(now: number): Effect[] {
    const effects: Effect[] = [];
    this.armedWake = null;
    for (const jobId of this.delays.popDue(now)) {
      const job = this.jobs.get(jobId);
      if (job !== undefined && job.state === 'queued') this.queues.push(job);
      else if (job !== undefined && this.awaitingApproval.has(jobId)) {
        this.finish(job, 'failed', now, `approval timed out after ${job.spec.approval?.timeoutSeconds ?? 0} s`, effects);
      }
    }
    // The timer for the next due time: without it, later delays would wait for some other event.
    const next = this.delays.next();
    if (next !== null) {
      this.armedWake = next;
      effects.push({ type: 'wake', at: next });
    }
    this.drainWork(now, effects);
    return effects;
  }

  jobStarted(workerId: string, jobId: string, attempt: number, now: number): Effect[] {
    const job = this.current(workerId, jobId, attempt);
    if (job === undefined || job.state !== 'assigned') return [];
    transition(job, 'running');
    job.startedAt = now;
    return [persist(job, 'assigned', now, null)];
  }

  /**
   * An attempt ended. A result of an attempt that is no longer current is recorded in the job's
   * history (the shell does it for jobs no longer in memory) and changes nothing else.
   */
  jobFinished(workerId: string, jobId: string, attempt: number, outcome: JobOutcome & { readonly leaseExpired?: boolean }, now: number): Effect[] {
    const job = this.current(workerId, jobId, attempt);
    if (job === undefined) {
      const known = this.jobs.get(jobId);
      return known === undefined ? [] : [supersededResult(known, workerId, attempt, outcome, now)];
    }
    const effects: Effect[] = [];
    this.workers.release(job);
    if (outcome.leaseExpired === true) {
      // Not the job's fault: it runs again, and this does not count towards a poison pill.
      this.requeue(job, now, `attempt ${attempt} was killed by worker ${workerId}: its lease ran out (no word from the master)`, effects);
      this.drainWork(now, effects);
      return effects;
    }
    job.exitCode = outcome.exitCode;
    job.signal = outcome.signal;
    if (job.startedAt === null) job.startedAt = now - outcome.durationMs;
    if (outcome.exitCode === 0 && outcome.error === undefined) {
      this.finish(job, 'succeeded', now, null, effects);
    } else if (job.spec.service !== undefined) {
      // The worker's supervisor already restarted it as its policy allows: this is the end.
      this.finish(job, 'dead', now, outcome.error ?? `exited with code ${String(outcome.exitCode)} (restart policy ${job.spec.service.restart})`, effects);
    } else {
      const why = outcome.oom === true ? oomReason(job) : outcome.error ?? (outcome.signal !== null ? `killed by ${outcome.signal}` : `exited with code ${String(outcome.exitCode)}`);
      this.failAttempt(job, now, why, effects);
    }
    this.drainWork(now, effects);
    return effects;
  }

  /**
   * The janitor found the attempt running past its timeout (the worker did not end it): its
   * process tree is killed and the attempt fails by the retry policy.
   */
  reapOverdue(jobId: string, now: number, why: string): Effect[] {
    const job = this.jobs.get(jobId);
    if (job === undefined || job.state !== 'running' || job.workerId === null) return [];
    const effects: Effect[] = [{ type: 'kill', workerId: job.workerId, jobId, attempt: job.attempt, reason: why }];
    this.workers.release(job);
    this.failAttempt(job, now, why, effects);
    this.drainWork(now, effects);
    return effects;
  }

  /** The janitor found the attempt missing from its worker's reports: it runs again, as after a lost worker. */
  reapUnreported(jobId: string, now: number, why: string): Effect[] {
    const job = this.jobs.get(jobId);
    if (job === undefined || (job.state !== 'running' && job.state !== 'assigned') || job.workerId === null) return [];
    const effects: Effect[] = [{ type: 'kill', workerId: job.workerId, jobId, attempt: job.attempt, reason: why }];
    this.workers.release(job);
    this.lostWhileRunning(jobId, now, why, effects);
    this.drainWork(now, effects);
    return effects;
  }

  /** A service answered its readiness check: its children may run and its DAG counts it done. */
  serviceReady(workerId: string, jobId: string, attempt: number, now: number): Effect[] {
    const job = this.current(workerId, jobId, attempt);
    if (job === undefined || job.spec.service === undefined) return [];
    const effects: Effect[] = [];
    if (job.state === 'assigned') {
      transition(job, 'running');
      job.startedAt = now;
    }
    if (job.serviceReady) {
      effects.push(persist(job, job.state, now, 'service ready again'));
      return effects;
    }
    job.serviceReady = true;
    effects.push(persist(job, job.state, now, 'service ready'));
    this.release(job, 'succeeded', now, effects);
    this.drainWork(now, effects);
    return effects;
  }

  /** A worker gave a job back (a service it stopped while draining): it runs again elsewhere. */
  handBack(workerId: string, jobId: string, attempt: number, now: number): Effect[] {
    const job = this.current(workerId, jobId, attempt);
    if (job === undefined) return [];
    const effects: Effect[] = [];
    this.requeue(job, now, `handed back by worker ${workerId} (draining)`, effects);
    this.drainWork(now, effects);
    return effects;
  }

  /** Stops a service for good: its process tree is killed and it is not restarted. */
  stopService(jobId: string, now: number): Effect[] {
    const job = this.service(jobId);
    const effects: Effect[] = [];
    this.stop(job, 'stopped', now, 'stopped by request', effects);
    this.drainWork(now, effects);
    return effects;
  }

  /** Restarts a service as a new attempt (on the least-loaded fitting worker). */
  restartService(jobId: string, now: number): Effect[] {
    const job = this.service(jobId);
    const effects: Effect[] = [];
    if ((job.state === 'assigned' || job.state === 'running') && job.workerId !== null) {
      effects.push({ type: 'kill', workerId: job.workerId, jobId, attempt: job.attempt });
      this.requeue(job, now, 'restarted by request', effects);
    }
    this.drainWork(now, effects);
    return effects;
  }

  private service(jobId: string): Job {
    const job = this.jobs.get(jobId);
    if (job === undefined || job.spec.service === undefined) {
      throw new TitanError(ErrorCode.UNKNOWN_JOB, `no running service ${jobId}: list them with \`titan services\``);
    }
    return job;
  }

  cancel(jobId: string, now: number): Effect[] {
    const job = this.jobs.get(jobId);
    if (job === undefined) throw new TitanError(ErrorCode.UNKNOWN_JOB, `no active job ${jobId} (it may have finished already: see titan jobs)`);
    const effects: Effect[] = [];
    this.stop(job, 'cancelled', now, 'cancelled by request', effects);
    this.drainWork(now, effects);
    return effects;
  }

  /** Stops every running job of the DAG, skips the rest; the DAG ends cancelled. */
  cancelDag(dagId: string, now: number): Effect[] {
    const dag = this.dagBook.get(dagId);
    if (dag === undefined) throw new TitanError(ErrorCode.UNKNOWN_JOB, `no running DAG ${dagId} (see titan dags)`);
    dag.state = 'cancelled';
    const effects: Effect[] = [{ type: 'persistDag', dag }];
    for (const job of [...this.jobs.values()]) {
      if (job.spec.dagId !== dagId || isFinal(job.state)) continue;
      // Only a job still waiting on its parents is skipped; one that was already due is cancelled.
      this.stop(job, job.state === 'pending' ? 'skipped' : 'cancelled', now, 'its DAG was cancelled', effects);
    }
    this.drainWork(now, effects);
    return effects;
  }

  /**
   * Runs a final job again with a fresh retry budget (the DLQ's way out). `stored` is the job as
   * the store has it, `dag` its DAG when that is no longer running.
   */
  retry(stored: Job, dag: Dag | undefined, now: number): Effect[] {
    if (!isFinal(stored.state) || stored.state === 'succeeded') {
      throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${stored.id} is ${stored.state}; only failed, dead, cancelled or skipped jobs can be retried`);
    }
    const effects: Effect[] = [];
    if (dag !== undefined && this.dagBook.get(dag.id) === undefined) this.dagBook.add(dag);
    const live = stored.spec.dagId !== undefined ? this.dagBook.get(stored.spec.dagId) : undefined;
    if (live !== undefined) {
      live.unfinished++;
      if (countsAsDagFailure(stored)) live.failed = Math.max(0, live.failed - 1);
      live.state = 'running';
      live.finishedAt = null;
      effects.push({ type: 'persistDag', dag: live });
    }
    const job: Job = { ...stored, attemptBase: stored.attempt, crashes: 0, finishedAt: null, exitCode: null, signal: null, workerId: null, notBefore: null };
    this.jobs.set(job.id, job);
    if (job.spec.approval?.decisionOnly === true) {
      this.askAgain(job, now, effects);
      return effects;
    }
    const from = transition(job, 'queued');
    job.reason = 'retried by request';
    effects.push(persist(job, from, now, 'retried by request'));
    this.makeReady(job, now, effects, false);
    this.drainWork(now, effects);
    return effects;
  }

  /** Why a job is not running, for status output; null when nothing holds it. */
  waitingReason(job: Job, now: number): string | null {
    if (this.awaitingApproval.has(job.id)) {
      const due = job.notBefore !== null ? ` (times out in ${Math.max(0, Math.ceil((job.notBefore - now) / 1000))} s)` : '';
      return `awaiting approval: ${job.spec.approval?.message ?? ''}${due}; approve with \`titan approve ${job.id}\``;
    }
    if (job.state === 'pending') {
      const waiting = (job.spec.parents ?? []).filter((p) => {
        const parent = this.jobs.get(p);
        return parent !== undefined && !parent.serviceReady;
      });
      return waiting.length > 0 ? `waiting for ${waiting.length} parent(s): ${waiting.slice(0, 5).join(', ')}` : 'waiting';
    }
    if (job.state !== 'queued') return null;
    if (this.delays.has(job.id) && job.notBefore !== null) return `delayed: due in ${Math.max(0, Math.ceil((job.notBefore - now) / 1000))} s`;
    const placement = placeJob(job.spec, this.workers.all(), job.pinnedWorker);
    return placement.placed ? 'about to be placed' : placement.reason;
  }
}

/** `oom` first, so listings and scripts can tell it from any other failure. */
export function oomReason(job: Job): string {
  const limit = job.spec.resources?.memoryMb;
  const what = limit !== undefined ? `its memory limit of ${formatMb(limit)}` : 'the memory it was allowed';
  return `oom: killed by the kernel for using more than ${what}; raise resources.memory (--memory) or use less`;
}
