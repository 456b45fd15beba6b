import type { ActiveJobs } from './active-jobs.js';
import type { Effect } from './effects.js';
import type { Job, JobOutcome } from './job.js';
import type { JobLifecycle } from './job-lifecycle.js';
import { supersededResult } from './lease.js';
import { persist } from './persist.js';
import { formatMb } from './resources.js';
import { transition } from './transitions.js';
import type { WorkerRegistration, Workers } from './workers.js';

/**
 * What workers tell the master, and what the master notices about them: registrations,
 * heartbeats, lost connections, started and finished attempts, ready services, jobs handed
 * back, and the janitor's findings about attempts that overran or went unreported.
 */
export class WorkerReports {
  constructor(
    private readonly jobs: ActiveJobs,
    private readonly workers: Workers,
    private readonly lifecycle: JobLifecycle,
  ) {}

  registerWorker(reg: WorkerRegistration, now: number): Effect[] {
    const effects: Effect[] = [];
    const { lost, stale, missing } = this.workers.register(reg, now, (jobId, attempt) => this.jobs.current(reg.id, jobId, attempt));
    for (const jobId of lost) this.lifecycle.lostWhileRunning(jobId, now, `worker ${reg.id} re-registered without it`, effects);
    for (const s of stale) effects.push({ type: 'kill', workerId: reg.id, jobId: s.jobId, attempt: s.attempt });
    for (const jobId of missing) {
      const job = this.jobs.get(jobId);
      if (job !== undefined) this.lifecycle.requeue(job, now, `worker ${reg.id} came back without it`, effects);
    }
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  heartbeat(workerId: string, now: number): boolean {
    return this.workers.heartbeat(workerId, now);
  }

  drainWorker(workerId: string): void {
    this.workers.drain(workerId);
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
    for (const jobId of this.workers.lose(workerId)) this.lifecycle.lostWhileRunning(jobId, now, `worker ${workerId} was lost: ${why}`, effects);
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  /** After a restart, jobs whose worker never came back within the deadline go back to the queue. */
  adoptionDeadlinePassed(now: number): Effect[] {
    const effects: Effect[] = [];
    for (const [workerId, jobId] of this.workers.abandonExpected()) {
      const job = this.jobs.get(jobId);
      if (job !== undefined) this.lifecycle.requeue(job, now, `worker ${workerId} did not come back after the master restarted`, effects);
    }
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  jobStarted(workerId: string, jobId: string, attempt: number, now: number): Effect[] {
    const job = this.jobs.current(workerId, jobId, attempt);
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
    const job = this.jobs.current(workerId, jobId, attempt);
    if (job === undefined) {
      const known = this.jobs.get(jobId);
      return known === undefined ? [] : [supersededResult(known, workerId, attempt, outcome, now)];
    }
    const effects: Effect[] = [];
    this.workers.release(job);
    if (outcome.leaseExpired === true) {
      // Not the job's fault: it runs again, and this does not count towards a poison pill.
      this.lifecycle.requeue(job, now, `attempt ${attempt} was killed by worker ${workerId}: its lease ran out (no word from the master)`, effects);
      this.lifecycle.drainWork(now, effects);
      return effects;
    }
    job.exitCode = outcome.exitCode;
    job.signal = outcome.signal;
    if (job.startedAt === null) job.startedAt = now - outcome.durationMs;
    if (outcome.exitCode === 0 && outcome.error === undefined) {
      this.lifecycle.finish(job, 'succeeded', now, null, effects);
    } else if (job.spec.service !== undefined) {
      // The worker's supervisor already restarted it as its policy allows: this is the end.
      this.lifecycle.finish(
        job,
        'dead',
        now,
        outcome.error ?? `exited with code ${String(outcome.exitCode)} (restart policy ${job.spec.service.restart})`,
        effects,
      );
    } else {
      const why =
        outcome.oom === true
          ? oomReason(job)
          : (outcome.error ?? (outcome.signal !== null ? `killed by ${outcome.signal}` : `exited with code ${String(outcome.exitCode)}`));
      this.lifecycle.failAttempt(job, now, why, effects);
    }
    this.lifecycle.drainWork(now, effects);
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
    this.lifecycle.failAttempt(job, now, why, effects);
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  /** The janitor found the attempt missing from its worker's reports: it runs again, as after a lost worker. */
  reapUnreported(jobId: string, now: number, why: string): Effect[] {
    const job = this.jobs.get(jobId);
    if (job === undefined || (job.state !== 'running' && job.state !== 'assigned') || job.workerId === null) return [];
    const effects: Effect[] = [{ type: 'kill', workerId: job.workerId, jobId, attempt: job.attempt, reason: why }];
    this.workers.release(job);
    this.lifecycle.lostWhileRunning(jobId, now, why, effects);
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  /** A service answered its readiness check: its children may run and its DAG counts it done. */
  serviceReady(workerId: string, jobId: string, attempt: number, now: number): Effect[] {
    const job = this.jobs.current(workerId, jobId, attempt);
    if (job === undefined || job.spec.service === undefined) return [];
    const effects: Effect[] = [];
    if (job.state === 'assigned') {
      transition(job, 'running');
      job.startedAt = now;
    }
    // Up and answering again after losing workers: those losses were not its doing.
    job.crashes = 0;
    if (job.serviceReady) {
      effects.push(persist(job, job.state, now, 'service ready again'));
      return effects;
    }
    job.serviceReady = true;
    effects.push(persist(job, job.state, now, 'service ready'));
    this.lifecycle.passOutcome(job, 'succeeded', now, effects);
    this.lifecycle.drainWork(now, effects);
    return effects;
  }

  /** A worker gave a job back (a service it stopped while draining): it runs again elsewhere. */
  handBack(workerId: string, jobId: string, attempt: number, now: number): Effect[] {
    const job = this.jobs.current(workerId, jobId, attempt);
    if (job === undefined) return [];
    const effects: Effect[] = [];
    this.lifecycle.requeue(job, now, `handed back by worker ${workerId} (draining)`, effects);
    this.lifecycle.drainWork(now, effects);
    return effects;
  }
}

/** `oom` first, so listings and scripts can tell it from any other failure. */
export function oomReason(job: Job): string {
  const limit = job.spec.resources?.memoryMb;
  const what = limit !== undefined ? `its memory limit of ${formatMb(limit)}` : 'the memory it was allowed';
  return `oom: killed by the kernel for using more than ${what}; raise resources.memory (--memory) or use less`;
}
