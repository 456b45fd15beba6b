import { ErrorCode, TitanError } from '../common/errors.js';
import type { Dag } from '../core/dag.js';
import type { Job, JobState } from '../core/job.js';
import type { PruneBatch } from './pruner.js';
import type { Release } from './writer-gate.js';
import type { JobFilter, JobWrite, KeyedArtifact, KvEntry, LogLine, ScheduleRecord, StoredLogLine } from './store.js';
import type { JobEvent } from '../core/job.js';

/** The transitions of one scheduler tick: committed together, or not at all (group commit). */
export interface TickCommit {
  readonly writes: readonly JobWrite[];
  readonly dags?: readonly Dag[];
  readonly schedules?: readonly ScheduleRecord[];
}

/** The size of the store, for /metrics. */
export interface StoreBytes {
  readonly db: number;
  readonly wal: number;
}

/**
 * The master's durable memory as a shared database serves it: every method returns a promise,
 * every write method is one transaction, and every write transaction is fenced.
 *
 * Fencing: after `fence(epoch)` every write transaction first checks, inside the transaction,
 * that `epoch` is still the store's leader epoch (`leaderEpoch()`); when a newer leader took the
 * lease it rejects with a TitanError E_FENCED and writes nothing. Before `fence` is called the
 * store is unfenced (the embedded single-master case, tools such as `titan store migrate`).
 *
 * The shell commits a tick with `commitTick` and performs its effects (dispatch, replies, events)
 * only once the promise resolves: the persist-before-act promise of the synchronous Store.
 */
export interface AsyncStore {
  /** Which backend this is, for logs and `/metrics` ('sqlite' or 'postgres'). */
  readonly kind: 'sqlite' | 'postgres';
  /** Every later write transaction carries `epoch` and is refused (E_FENCED) once it is stale. */
  fence(epoch: number): void;
  /** The epoch every write is checked against now: the lease's epoch, 0 before any leader. */
  leaderEpoch(): Promise<number>;

  /** Group commit: the tick's job rows, events, DAG runs and schedules in one transaction. */
  commitTick(tick: TickCommit): Promise<void>;
  /**
   * Deletes the jobs (and events) that name a DAG run with no row: what a commit of a large new
   * DAG cut into chunks left when the master died before its sealing transaction (nothing of it
   * was acknowledged or dispatched). Recovery calls it before it reads. Returns the jobs deleted.
   */
  dropUnsealedDagJobs(): Promise<number>;
  appendLogs(lines: readonly LogLine[]): Promise<void>;
  pruneBatch(before: number, maxRows: number): Promise<PruneBatch>;
  /**
   * Resolves once a write would not wait on the store's own maintenance, and holds that off until
   * released; retention takes it around each batch (SQLite: the WAL checkpointer's RESTART, which
   * holds writers; PostgreSQL has nothing of the kind and resolves at once).
   */
  holdOffCheckpoints(): Promise<Release>;
  setMeta(key: string, value: string): Promise<void>;
  kvPut(key: string, value: string, ttlMs: number | null, now: number): Promise<void>;
  kvDelete(key: string): Promise<boolean>;
  kvSadd(key: string, members: readonly string[], ttlMs: number | null, now: number): Promise<number>;
  publishArtifact(key: string, hash: string, size: number, jobId: string | null, now: number): Promise<KeyedArtifact>;
  putSchedule(schedule: ScheduleRecord): Promise<void>;
  deleteSchedule(id: string): Promise<boolean>;

  loadActiveDags(): Promise<Dag[]>;
  getDag(id: string): Promise<Dag | undefined>;
  listDags(limit: number, idPrefix?: string): Promise<Dag[]>;
  maxDagSeq(): Promise<number>;
  jobsOfDag(dagId: string): Promise<Job[]>;
  jobStates(ids: readonly string[]): Promise<Map<string, JobState>>;
  loadActiveJobs(): Promise<Job[]>;
  getJob(id: string): Promise<Job | undefined>;
  listJobs(filter: JobFilter): Promise<Job[]>;
  countByState(): Promise<Record<JobState, number>>;
  maxJobSeq(): Promise<number>;
  jobEvents(jobId: string): Promise<JobEvent[]>;
  readLogs(jobId: string, afterSeq: number, limit: number, maxChars?: number): Promise<StoredLogLine[]>;
  logBytes(jobId: string): Promise<number>;
  getMeta(key: string): Promise<string | undefined>;
  /** An expired key is absent; the read also deletes it (tidying, not a decision: it is not fenced). */
  kvGet(key: string, now: number): Promise<KvEntry | undefined>;
  kvSmembers(key: string, now: number): Promise<string[]>;
  kvKeys(prefix: string, limit: number, now: number): Promise<string[]>;
  getKeyedArtifact(key: string): Promise<KeyedArtifact | undefined>;
  listKeyedArtifacts(prefix: string, limit: number): Promise<KeyedArtifact[]>;
  artifactReachable(hash: string, idPrefix: string): Promise<boolean>;
  /** Whether a key, a job in any state (script or bundle) or a schedule names `hash`: retention keeps its file while true. */
  artifactInUse(hash: string): Promise<boolean>;
  /** Bytes the store takes: SQLite's file and write-ahead log; PostgreSQL's tables and indexes of the schema (wal 0). */
  storeBytes(): Promise<StoreBytes>;
  getSchedule(id: string): Promise<ScheduleRecord | undefined>;
  listSchedules(): Promise<ScheduleRecord[]>;
  /** Idempotent; waits for the connections to close. */
  close(): Promise<void>;
}

export function fencedError(held: number, current: number): TitanError {
  return new TitanError(
    ErrorCode.FENCED,
    `this master's leader epoch ${held} is stale (the store is at epoch ${current}): another master leads now; nothing was written, and this one must step down`,
  );
}

export function isFenced(err: unknown): boolean {
  return err instanceof TitanError && err.code === ErrorCode.FENCED;
}
