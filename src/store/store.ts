import type { Dag } from '../core/dag.js';
import type { Job, JobEvent, JobState } from '../core/job.js';
import type { MisfirePolicy, OverlapPolicy } from '../core/schedule.js';
import type { PruneBatch } from './pruner.js';

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

export interface JobWrite {
  /** The job as it is after the transition; inserted when new, replaced otherwise. */
  readonly job: Job;
  readonly event: JobEvent;
}

export interface JobFilter {
  readonly states?: readonly JobState[];
  /** Only the jobs of this DAG run. */
  readonly dagId?: string;
  /** Only jobs whose current (or last) attempt ran on this worker. */
  readonly workerId?: string;
  /** Only jobs whose id or name contains this text (case-insensitive). */
  readonly search?: string;
  /** Page cursor: only jobs submitted before the job with this seq. */
  readonly beforeSeq?: number;
  /** Only jobs whose id starts with this (a namespace's `<ns>.`), counted before the limit. */
  readonly idPrefix?: string;
  /** Newest first, at most this many. */
  readonly limit: number;
}

/** What a key of the KV store holds: a string, or a set of strings (in the order first added). */
export type KvEntry = { readonly kind: 'string'; readonly value: string } | { readonly kind: 'set'; readonly value: string[] };

/** An artifact (content-addressed bytes) published under a key, for later jobs and clients. */
export interface KeyedArtifact {
  readonly key: string;
  /** sha256 hex of the bytes, their address in the master's artifact store. */
  readonly hash: string;
  readonly size: number;
  readonly publishedAt: number;
  /** The job that published it, when a job did. */
  readonly jobId: string | null;
}

/** A cron schedule of DAG runs, as the `schedules` table keeps it. */
export interface ScheduleRecord {
  readonly id: string;
  readonly name: string;
  readonly cron: string;
  /** IANA time zone the expression is read in; null for the master's local zone. */
  readonly tz: string | null;
  readonly overlap: OverlapPolicy;
  readonly misfire: MisfirePolicy;
  readonly paused: boolean;
  /** JSON of what each fire submits ({ name, jobs }), parsed by the master at load. */
  readonly payload: string;
  /** The due time of the last fire, null before the first. */
  readonly lastDueAt: number | null;
  readonly lastDagId: string | null;
  readonly createdAt: number;
  readonly resumedAt: number | null;
}

/**
 * The master's durable memory. Every method is synchronous and atomic: when it returns, the
 * effect is on disk (as far as a process crash is concerned), and when it throws, nothing of it is.
 */
export interface Store {
  /**
   * Applies a batch of job transitions, and the DAG runs (and schedules) they changed, in one
   * transaction: a schedule's fire (its last_due_at) commits with the DAG it creates, or neither does.
   * Effects: each job row is inserted or replaced, each event appended, each DAG and schedule row upserted.
   * Failure: throws; no row of the batch is written.
   */
  writeJobs(batch: readonly JobWrite[], dags?: readonly Dag[], schedules?: readonly ScheduleRecord[]): void;
  /** DAG runs still running, oldest first. */
  loadActiveDags(): Dag[];
  getDag(id: string): Dag | undefined;
  /** Newest first. */
  /** Newest first, at most `limit`; with `idPrefix`, only runs whose id starts with it. */
  listDags(limit: number, idPrefix?: string): Dag[];
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
  /**
   * Lines of one job with seq > afterSeq, oldest first, at most limit; with maxChars, also no more
   * lines once their text reaches that many characters (one line at least), so a page is bounded.
   */
  readLogs(jobId: string, afterSeq: number, limit: number, maxChars?: number): StoredLogLine[];
  /** Bytes of line text stored for a job, all attempts (a line counts its UTF-8 length plus a newline). */
  logBytes(jobId: string): number;
  /**
   * Retention: deletes at most about `maxRows` rows of finished history older than `before` (jobs
   * with their events and log chunks, then DAG runs left empty) in one short transaction. DLQ
   * (`dead`) jobs, unfinished jobs and jobs of running DAGs stay; the audit ledger is not touched.
   * Returns what it deleted: all zero when nothing is left to delete.
   */
  pruneBatch(before: number, maxRows: number): PruneBatch;
  /** Sizes of the store's files on disk (0 in memory), for /metrics and the bench. */
  storeFileBytes(): { db: number; wal: number };
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /** The live value of a key; an expired key is absent (and is deleted on the way). */
  kvGet(key: string, now: number): KvEntry | undefined;
  /**
   * Sets a string, replacing a string (or an expired key of any kind); with ttlMs it expires at
   * now + ttlMs, without it never (an earlier TTL is cleared).
   * Failure: throws E_INVALID_REQUEST (WRONGTYPE) when the key holds a live set; nothing is written.
   */
  kvPut(key: string, value: string, ttlMs: number | null, now: number): void;
  /** Removes a key of either kind; true when there was a row to remove. */
  kvDelete(key: string): boolean;
  /**
   * Adds members to a set (creating it) and returns how many were not in it yet. With ttlMs the
   * set expires at now + ttlMs; without it the set keeps the expiry it had (none when new).
   * Failure: throws E_INVALID_REQUEST (WRONGTYPE) when the key holds a live string; nothing is written.
   */
  kvSadd(key: string, members: readonly string[], ttlMs: number | null, now: number): number;
  /**
   * The members of a set, in the order they were first added; [] when the key is absent or expired.
   * Failure: throws E_INVALID_REQUEST (WRONGTYPE) when the key holds a live string.
   */
  kvSmembers(key: string, now: number): string[];
  /** Live keys (either kind) that start with prefix ('' for all), in key order, at most limit. */
  kvKeys(prefix: string, limit: number, now: number): string[];
  /** Records (or moves) `key` to point at stored bytes; a later publish under the same key replaces it. */
  publishArtifact(key: string, hash: string, size: number, jobId: string | null, now: number): KeyedArtifact;
  getKeyedArtifact(key: string): KeyedArtifact | undefined;
  /** Published artifacts whose key starts with prefix ('' for all), in key order, at most limit. */
  listKeyedArtifacts(prefix: string, limit: number): KeyedArtifact[];
  /** Whether a key or a job whose id starts with `idPrefix` names the artifact `hash`. */
  artifactReachable(hash: string, idPrefix: string): boolean;
  /**
   * Whether anything still names the artifact `hash`: a key, a job in any state (its script or
   * bundle) or a schedule. Retention deletes artifact files for which this is false; it must be
   * cheap (indexed), as it is asked once per old file.
   */
  artifactInUse(hash: string): boolean;
  /** Inserts or replaces a schedule row (every column). */
  putSchedule(schedule: ScheduleRecord): void;
  getSchedule(id: string): ScheduleRecord | undefined;
  /** Every schedule, oldest first. */
  listSchedules(): ScheduleRecord[];
  /** Removes a schedule; true when there was one. */
  deleteSchedule(id: string): boolean;
  /** Idempotent. */
  close(): void;
}
