import type { Dag } from '../core/dag.js';
import type { Job, JobState } from '../core/job.js';

/** One line a job printed, as kept for `titan logs`. */
export interface LogLine {
  readonly jobId: string;
  readonly attempt: number;
  readonly stream: 'stdout' | 'stderr';
  /** Milliseconds since the epoch, taken by the worker when the line was read. */
  readonly at: number;
  readonly line: string;
}

export interface StoredLogLine extends LogLine {
  /** Monotonic per store; a follower resumes after the last seq it saw. */
  readonly seq: number;
}

/** One entry of a job's history: a transition with its cause. */
export interface JobEvent {
  readonly jobId: string;
  readonly at: number;
  readonly from: JobState | null;
  readonly to: JobState;
  readonly attempt: number;
  readonly workerId: string | null;
  readonly detail: string | null;
}

export interface JobWrite {
  /** The job as it is after the transition; inserted when new, replaced otherwise. */
  readonly job: Job;
  readonly event: JobEvent;
}

export interface JobFilter {
  readonly states?: readonly JobState[];
  /** Newest first, at most this many. */
  readonly limit: number;
}

/**
 * The master's durable memory. Every method is synchronous and atomic: when it returns, the
 * effect is on disk (as far as a process crash is concerned), and when it throws, nothing of it is.
 */
export interface Store {
  /**
   * Applies a batch of job transitions, and the DAG runs they changed, in one transaction.
   * Effects: each job row is inserted or replaced, each event appended, each DAG row upserted.
   * Failure: throws; no row of the batch is written.
   */
  writeJobs(batch: readonly JobWrite[], dags?: readonly Dag[]): void;
  /** DAG runs still running, oldest first. */
  loadActiveDags(): Dag[];
  getDag(id: string): Dag | undefined;
  /** Newest first. */
  listDags(limit: number): Dag[];
  maxDagSeq(): number;
  /** Every job of a DAG run, in submission order. */
  jobsOfDag(dagId: string): Job[];
  /** The states of the given jobs that exist (others are absent from the map). */
  jobStates(ids: readonly string[]): Map<string, JobState>;
  /** Jobs not yet in a final state, in submission order (seq). Used to rebuild memory on start. */
  loadActiveJobs(): Job[];
  getJob(id: string): Job | undefined;
  listJobs(filter: JobFilter): Job[];
  countByState(): Record<JobState, number>;
  /** The highest job seq ever written, 0 for an empty store. */
  maxJobSeq(): number;
  jobEvents(jobId: string): JobEvent[];
  /** Appends lines in one transaction and returns nothing; order of the batch is kept. */
  appendLogs(lines: readonly LogLine[]): void;
  /** Lines of one job with seq > afterSeq, oldest first, at most limit. */
  readLogs(jobId: string, afterSeq: number, limit: number): StoredLogLine[];
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /** Idempotent. */
  close(): void;
}
