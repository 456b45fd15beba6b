import { TitanError, ErrorCode } from '../common/errors.js';
import { ActiveJobs } from './active-jobs.js';
import { AdmissionHolds } from './admission-holds.js';
import { Approvals } from './approvals.js';
import type { ScalingInput } from './autoscale.js';
import type { Dag } from './dag.js';
import { countsAsDagFailure, DagBook } from './dag-book.js';
import type { Effect } from './effects.js';
import { isFinal, type Job, type JobOutcome, type JobSpec, type JobState } from './job.js';
import { JobLifecycle } from './job-lifecycle.js';
import { persist } from './persist.js';
import { placeJob } from './placement.js';
import { Queues } from './queues.js';
import { transition } from './transitions.js';
import { Wakeups } from './wakeups.js';
import { WorkerReports } from './worker-reports.js';
import type { WorkerRecord } from './worker-record.js';
import { Workers, type WorkerRegistration } from './workers.js';

export type { WorkerRegistration } from './workers.js';
export { POISON_PILL_CRASHES } from './job-lifecycle.js';
export { oomReason } from './worker-reports.js';

const NO_PARENTS: ReadonlyMap<string, JobState> = new Map();

/**
 * The scheduling core: the live state of jobs, DAG runs and workers, changed only through the
 * methods below, each of which returns the effects the master must apply. No I/O and no clock:
 * `now` is passed in. Final jobs leave memory (the store keeps them). Its parts each keep their
 * own state: the jobs (`ActiveJobs`), ready queues, held jobs (`Wakeups`), approvals, DAG runs
 * (`DagBook`) and workers; `JobLifecycle` moves jobs between them, and `WorkerReports` answers
 * what workers say.
 */
export class Scheduler {
  private readonly jobs: ActiveJobs;
  private readonly queues = new Queues();
  private readonly wakeups = new Wakeups();
  private readonly approvals = new Approvals(this.wakeups);
  private readonly dags: DagBook;
  private readonly workers = new Workers();
  private readonly holds = new AdmissionHolds();
  private readonly lifecycle: JobLifecycle;
  private readonly reports: WorkerReports;
  /** The status of parents when every one is in memory (the common case): made once, not per submit. */
  private readonly statusOfLive = (parentId: string): ReturnType<ActiveJobs['parentStatus']> => this.jobs.parentStatus(parentId, NO_PARENTS);

  constructor(firstSeq = 1, firstDagSeq = 1) {
    this.jobs = new ActiveJobs(firstSeq);
    this.dags = new DagBook(firstDagSeq);
    this.lifecycle = new JobLifecycle({
      jobs: this.jobs,
      queues: this.queues,
      wakeups: this.wakeups,
      approvals: this.approvals,
      dags: this.dags,
      workers: this.workers,
      holds: this.holds,
    });
    this.reports = new WorkerReports(this.jobs, this.workers, this.lifecycle);
  }

  job(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  dag(id: string): Dag | undefined {
    return this.dags.get(id);
  }

  worker(id: string): WorkerRecord | undefined {
    return this.workers.get(id);
  }

  liveWorkers(): WorkerRecord[] {
    return this.workers.live();
  }

  activeJobs(): IterableIterator<Job> {
    return this.jobs.values();
  }

  queueDepths(): Record<string, number> {
    return this.queues.depths();
  }

  /** What the autoscaler weighs: ready work per capability pool, and every worker known (dead ones too). */
  capacity(): Pick<ScalingInput, 'demand' | 'workers'> {
    return { demand: this.queues.demand(), workers: this.workers.all() };
  }

  /** After a restart: new jobs and DAG runs are numbered after the highest seqs the store holds (finished ones included). */
  continueNumbering(lastJobSeq: number, lastDagSeq: number): void {
    this.jobs.continueAfter(lastJobSeq);
    this.dags.continueAfter(lastDagSeq);
  }

  /** Rebuilds memory from the store after a restart; parentStates holds the final parents of pending jobs. */
  recover(active: readonly Job[], dags: readonly Dag[], parentStates: ReadonlyMap<string, JobState>, now: number): Effect[] {
    const effects: Effect[] = [];
    for (const dag of dags) this.dags.add(dag);
    for (const job of active) this.jobs.add(job);
    for (const job of active) {
      if (job.state === 'pending') {
        const gate = this.dags.attach(job, (id) => this.jobs.parentStatus(id, parentStates));
        if (gate.remaining === 0 && (job.spec.parents?.length ?? 0) > 0) this.lifecycle.openGate(job, gate, now, effects);
        else if (gate.remaining === 0) this.approvals.enter(job, now, effects);
      } else if (job.state === 'queued') {
        this.lifecycle.makeReady(job, now, effects, false);
      } else if (job.workerId !== null) {
        this.workers.expectBack(job.workerId, job.id);
      } else {
        this.lifecycle.requeue(job, now, 'the master restarted before the job reached a worker', effects);
      }
    }
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  createDag(id: string, name: string, now: number): Effect[] {
    return [{ type: 'persistDag', dag: this.dags.create(id, name, now) }];
  }

  /**
   * Accepts a job. Parents that are no longer in memory must be given in finishedParents with
   * their final state (the shell reads them from the store).
   */
  /**
   * Starts holding the jobs submitted with the admission it returns: they are admitted (and
   * persisted) as usual, but none is queued, placed or dispatched before `releaseAdmission`.
   */
  holdAdmission(): string {
    return this.holds.begin();
  }

  /** Queues (and places) the jobs of `admission` that became ready while it was held; ends the hold. */
  releaseAdmission(admission: string, now: number): Effect[] {
    const effects: Effect[] = [];
    for (const job of this.holds.release(admission)) {
      if (job.state === 'queued' && this.jobs.get(job.id) === job) this.lifecycle.makeReady(job, now, effects, false);
    }
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  /** `admission`: a held admission (`holdAdmission`) the job belongs to. */
  submit(id: string, spec: JobSpec, now: number, finishedParents: ReadonlyMap<string, JobState> = NO_PARENTS, admission?: string): Effect[] {
    if (this.jobs.has(id)) throw new TitanError(ErrorCode.INVALID_REQUEST, `job id ${id} is already in use`);
    if (admission !== undefined) this.holds.enlist(admission, id);
    const hasParents = (spec.parents?.length ?? 0) > 0;
    const job = this.jobs.create(id, spec, now, hasParents || spec.approval !== undefined ? 'pending' : 'queued');
    const gate = hasParents
      ? this.dags.attach(job, finishedParents === NO_PARENTS ? this.statusOfLive : (p) => this.jobs.parentStatus(p, finishedParents))
      : null;
    const dag = this.dags.enroll(job);
    this.jobs.add(job);
    const effects: Effect[] = [persist(job, null, now, 'submitted')];
    if (dag !== undefined) effects.push({ type: 'persistDag', dag });
    if (gate === null && spec.approval !== undefined) this.approvals.enter(job, now, effects);
    else if (gate === null) this.lifecycle.makeReady(job, now, effects, true);
    else if (gate.remaining === 0) this.lifecycle.openGate(job, gate, now, effects);
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  /** Delayed and backed-off jobs whose time has come join their queues; approvals past their deadline fail. */
  wake(now: number): Effect[] {
    const effects: Effect[] = [];
    for (const jobId of this.wakeups.takeDue(now)) {
      const job = this.jobs.get(jobId);
      if (job !== undefined && job.state === 'queued') this.queues.push(job);
      else if (job !== undefined && this.approvals.has(jobId)) {
        this.lifecycle.finish(job, 'failed', now, `approval timed out after ${job.spec.approval?.timeoutSeconds ?? 0} s`, effects);
      }
    }
    this.wakeups.askForNext(effects);
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  registerWorker(reg: WorkerRegistration, now: number): Effect[] {
    return this.reports.registerWorker(reg, now);
  }

  heartbeat(workerId: string, now: number): boolean {
    return this.reports.heartbeat(workerId, now);
  }

  drainWorker(workerId: string): void {
    this.reports.drainWorker(workerId);
  }

  workerUnreachable(workerId: string, now: number, why: string): { holding: boolean; effects: Effect[] } {
    return this.reports.workerUnreachable(workerId, now, why);
  }

  workerLost(workerId: string, now: number, why: string): Effect[] {
    return this.reports.workerLost(workerId, now, why);
  }

  adoptionDeadlinePassed(now: number): Effect[] {
    return this.reports.adoptionDeadlinePassed(now);
  }

  jobStarted(workerId: string, jobId: string, attempt: number, now: number): Effect[] {
    return this.reports.jobStarted(workerId, jobId, attempt, now);
  }

  jobFinished(workerId: string, jobId: string, attempt: number, outcome: JobOutcome & { readonly leaseExpired?: boolean }, now: number): Effect[] {
    return this.reports.jobFinished(workerId, jobId, attempt, outcome, now);
  }

  reapOverdue(jobId: string, now: number, why: string): Effect[] {
    return this.reports.reapOverdue(jobId, now, why);
  }

  reapUnreported(jobId: string, now: number, why: string): Effect[] {
    return this.reports.reapUnreported(jobId, now, why);
  }

  serviceReady(workerId: string, jobId: string, attempt: number, now: number): Effect[] {
    return this.reports.serviceReady(workerId, jobId, attempt, now);
  }

  handBack(workerId: string, jobId: string, attempt: number, now: number): Effect[] {
    return this.reports.handBack(workerId, jobId, attempt, now);
  }

  /** Jobs waiting for a person's decision. */
  *awaitingDecision(): IterableIterator<Job> {
    for (const id of this.approvals.ids()) {
      const job = this.jobs.get(id);
      if (job !== undefined) yield job;
    }
  }

  isAwaitingApproval(jobId: string): boolean {
    return this.approvals.has(jobId);
  }

  /** A person approved the job: it runs (after its delay, if any); a decision-only gate succeeds. */
  approve(jobId: string, by: string, now: number): Effect[] {
    const job = this.awaiting(jobId);
    if (job.spec.approval?.decisionOnly === true) {
      const effects: Effect[] = [];
      this.lifecycle.finish(job, 'succeeded', now, `approved by ${by}`, effects);
      this.lifecycle.drainWork(now, effects);
      return effects;
    }
    this.approvals.delete(jobId);
    this.wakeups.forget(jobId);
    job.notBefore = null;
    const from = transition(job, 'queued');
    job.reason = `approved by ${by}`;
    const effects: Effect[] = [persist(job, from, now, job.reason)];
    this.lifecycle.makeReady(job, now, effects, true);
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  /** A person rejected the job: it fails, and its DAG follows its trigger rules. */
  reject(jobId: string, by: string, why: string, now: number): Effect[] {
    const job = this.awaiting(jobId);
    const effects: Effect[] = [];
    this.lifecycle.finish(job, 'failed', now, `rejected by ${by}${why.length > 0 ? `: ${why}` : ''}`, effects);
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  private awaiting(jobId: string): Job {
    const job = this.jobs.get(jobId);
    if (job === undefined || !this.approvals.has(jobId)) {
      const state = job === undefined ? 'not active' : `${job.state}${job.state === 'pending' ? ' (its parents are not done)' : ''}`;
      throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${jobId} is not awaiting approval (it is ${state})`);
    }
    return job;
  }

  /** Stops a service for good: its process tree is killed and it is not restarted. */
  stopService(jobId: string, now: number): Effect[] {
    const job = this.service(jobId);
    const effects: Effect[] = [];
    this.lifecycle.stop(job, 'stopped', now, 'stopped by request', effects);
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  /** Restarts a service as a new attempt (on the least-loaded fitting worker). */
  restartService(jobId: string, now: number): Effect[] {
    const job = this.service(jobId);
    const effects: Effect[] = [];
    if ((job.state === 'assigned' || job.state === 'running') && job.workerId !== null) {
      effects.push({ type: 'kill', workerId: job.workerId, jobId, attempt: job.attempt });
      this.lifecycle.requeue(job, now, 'restarted by request', effects);
    }
    this.lifecycle.drainWork(now, effects);
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
    this.lifecycle.stop(job, 'cancelled', now, 'cancelled by request', effects);
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  /** Stops every running job of the DAG, skips the rest; the DAG ends cancelled. */
  cancelDag(dagId: string, now: number): Effect[] {
    const dag = this.dags.get(dagId);
    if (dag === undefined) throw new TitanError(ErrorCode.UNKNOWN_JOB, `no running DAG ${dagId} (see titan dags)`);
    dag.state = 'cancelled';
    const effects: Effect[] = [{ type: 'persistDag', dag }];
    for (const job of [...this.jobs.values()]) {
      if (job.spec.dagId !== dagId || isFinal(job.state)) continue;
      // Only a job still waiting on its parents is skipped; one that was already due is cancelled.
      this.lifecycle.stop(job, job.state === 'pending' ? 'skipped' : 'cancelled', now, 'its DAG was cancelled', effects);
    }
    this.lifecycle.drainWork(now, effects);
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
    if (dag !== undefined && this.dags.get(dag.id) === undefined) this.dags.add(dag);
    const live = stored.spec.dagId !== undefined ? this.dags.get(stored.spec.dagId) : undefined;
    if (live !== undefined) {
      live.unfinished++;
      if (countsAsDagFailure(stored)) live.failed = Math.max(0, live.failed - 1);
      live.state = 'running';
      live.finishedAt = null;
      effects.push({ type: 'persistDag', dag: live });
    }
    const job: Job = { ...stored, attemptBase: stored.attempt, crashes: 0, finishedAt: null, exitCode: null, signal: null, workerId: null, notBefore: null };
    this.jobs.add(job);
    if (job.spec.approval?.decisionOnly === true) {
      this.lifecycle.askAgain(job, now, effects);
      return effects;
    }
    const from = transition(job, 'queued');
    job.reason = 'retried by request';
    effects.push(persist(job, from, now, 'retried by request'));
    this.lifecycle.makeReady(job, now, effects, false);
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  /** Why a job is not running, for status output; null when nothing holds it. */
  waitingReason(job: Job, now: number): string | null {
    if (this.approvals.has(job.id)) {
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
    if (this.wakeups.has(job.id) && job.notBefore !== null) return `delayed: due in ${Math.max(0, Math.ceil((job.notBefore - now) / 1000))} s`;
    const placement = placeJob(job.spec, this.workers.all(), job.pinnedWorker);
    return placement.placed ? 'about to be placed' : placement.reason;
  }
}
