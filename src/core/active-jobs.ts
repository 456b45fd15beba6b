import type { ParentStatus } from './dag-book.js';
import { isFinal, newJob, type Job, type JobSpec, type JobState } from './job.js';

/** The jobs in memory (final jobs leave; the store keeps them), and the order they were accepted in. */
export class ActiveJobs {
  private readonly byId = new Map<string, Job>();
  private nextSeq: number;

  constructor(firstSeq: number) {
    this.nextSeq = firstSeq;
  }

  get(id: string): Job | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  values(): IterableIterator<Job> {
    return this.byId.values();
  }

  /** A new job with the next sequence number, not yet kept: `add` keeps it. */
  create(id: string, spec: JobSpec, now: number, state: JobState): Job {
    return newJob(id, spec, this.nextSeq, now, state);
  }

  /** Keeps the job (new, recovered or retried); later jobs are numbered after it. */
  add(job: Job): void {
    this.byId.set(job.id, job);
    this.nextSeq = Math.max(this.nextSeq, job.seq + 1);
  }

  /** Numbers later jobs after `seq` (the highest the store ever held). */
  continueAfter(seq: number): void {
    this.nextSeq = Math.max(this.nextSeq, seq + 1);
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  /** The attempt if it is still the job's current one on that worker. */
  current(workerId: string, jobId: string, attempt: number): Job | undefined {
    const job = this.byId.get(jobId);
    if (job === undefined || job.attempt !== attempt || job.workerId !== workerId || isFinal(job.state)) return undefined;
    return job;
  }

  /** Where a parent stands for a child being attached; `finished` holds parents no longer in memory. */
  parentStatus(parentId: string, finished: ReadonlyMap<string, JobState>): ParentStatus {
    const active = this.byId.get(parentId);
    if (active?.serviceReady === true) return 'succeeded';
    if (active !== undefined) return isFinal(active.state) ? active.state : 'active';
    return finished.get(parentId);
  }
}
