import type pg from 'pg';
import type { Dag } from '../../core/dag.js';
import type { Job, JobState } from '../../core/job.js';
import type { AsyncStore, StoreBytes, TickCommit } from '../async-store.js';
import { wrongType } from '../kv-table.js';
import type { PruneBatch } from '../pruner.js';
import type { Release } from '../writer-gate.js';
import type { JobFilter, KeyedArtifact, KvEntry, LogLine, ScheduleRecord, StoredLogLine } from '../store.js';
import type { JobEvent } from '../../core/job.js';
import { PgArtifactBlobs } from './pg-artifact-blobs.js';
import * as jobs from './pg-jobs.js';
import * as kv from './pg-kv.js';
import { appendLogLines, readLogLines } from './pg-logs.js';
import { migratePg } from './pg-migrations.js';
import { inTransaction, openPgPool, type PgPoolOptions } from './pg-pool.js';
import { pruneBatch } from './pg-pruner.js';

/**
 * The store on a PostgreSQL database that any number of masters share. Reads are single queries
 * on the pool; each write is one transaction, fenced by the leader epoch once `fence` was called
 * (async-store.ts). The tables mirror the SQLite store's (pg-migrations.ts).
 */
export class PostgresStore implements AsyncStore {
  readonly kind = 'postgres';
  readonly blobs: PgArtifactBlobs;
  #epoch: number | null = null;
  #closed: Promise<void> | null = null;

  private constructor(
    readonly pool: pg.Pool,
    readonly url: string,
    readonly options: PgPoolOptions,
  ) {
    this.blobs = new PgArtifactBlobs(pool);
  }

  /**
   * Connects to `url` (a postgres:// URL) and brings the schema up to date.
   * Failure: rejects when the server cannot be reached or the schema is newer than this build.
   */
  static async open(url: string, options: PgPoolOptions = {}): Promise<PostgresStore> {
    const pool = openPgPool(url, options);
    try {
      await migratePg(pool);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresStore(pool, url, options);
  }

  fence(epoch: number): void {
    this.#epoch = epoch;
  }

  leaderEpoch(): Promise<number> {
    return jobs.scalar(this.pool, "SELECT epoch AS v FROM leader_lease WHERE name = 'leader'");
  }

  commitTick(tick: TickCommit): Promise<void> {
    if (tick.writes.length === 0 && (tick.dags ?? []).length === 0 && (tick.schedules ?? []).length === 0) return Promise.resolve();
    const rows = jobs.tickRows(tick);
    return this.#write((c) => jobs.writeTickRows(c, rows));
  }

  /** PostgreSQL commits a tick whole, so it leaves no unsealed admission; the same rule is kept all the same. */
  dropUnsealedDagJobs(): Promise<number> {
    return this.#write(async (c) => {
      const unsealed = 'SELECT id FROM jobs WHERE dag_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dags WHERE dags.id = jobs.dag_id)';
      await c.query(`DELETE FROM job_events WHERE job_id IN (${unsealed})`);
      return (await c.query(`DELETE FROM jobs WHERE id IN (${unsealed})`)).rowCount ?? 0;
    });
  }

  appendLogs(lines: readonly LogLine[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    return this.#write((c) => appendLogLines(c, lines));
  }

  pruneBatch(before: number, maxRows: number): Promise<PruneBatch> {
    return this.#write((c) => pruneBatch(c, before, Math.max(1, maxRows)));
  }

  /** A PostgreSQL checkpoint does not hold writers: nothing to wait for. */
  holdOffCheckpoints(): Promise<Release> {
    return Promise.resolve(() => undefined);
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#write((c) => c.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]));
  }

  kvPut(key: string, value: string, ttlMs: number | null, now: number): Promise<void> {
    return this.#write((c) => kv.kvPut(c, key, value, ttlMs, now));
  }

  kvDelete(key: string): Promise<boolean> {
    return this.#write((c) => kv.kvDelete(c, key));
  }

  kvSadd(key: string, members: readonly string[], ttlMs: number | null, now: number): Promise<number> {
    return this.#write((c) => kv.kvSadd(c, key, members, ttlMs, now));
  }

  publishArtifact(key: string, hash: string, size: number, jobId: string | null, now: number): Promise<KeyedArtifact> {
    return this.#write((c) => kv.publishArtifact(c, key, hash, size, jobId, now));
  }

  putSchedule(schedule: ScheduleRecord): Promise<void> {
    const row = jobs.scheduleRow(schedule);
    return this.#write((c) => jobs.writeScheduleRow(c, row));
  }

  async deleteSchedule(id: string): Promise<boolean> {
    const { rowCount } = await this.#write((c) => c.query('DELETE FROM schedules WHERE id = $1', [id]));
    return (rowCount ?? 0) > 0;
  }

  loadActiveDags(): Promise<Dag[]> {
    return jobs.readDags(this.pool, "WHERE state = 'running'", [], 'ORDER BY seq');
  }

  async getDag(id: string): Promise<Dag | undefined> {
    return (await jobs.readDags(this.pool, 'WHERE id = $1', [id], ''))[0];
  }

  listDags(limit: number, idPrefix = ''): Promise<Dag[]> {
    if (limit <= 0) return Promise.resolve([]);
    return idPrefix === ''
      ? jobs.readDags(this.pool, '', [limit], 'ORDER BY seq DESC LIMIT $1')
      : jobs.readDags(this.pool, 'WHERE starts_with(id, $1)', [idPrefix, limit], 'ORDER BY seq DESC LIMIT $2');
  }

  maxDagSeq(): Promise<number> {
    return jobs.scalar(this.pool, 'SELECT MAX(seq) AS v FROM dags');
  }

  jobsOfDag(dagId: string): Promise<Job[]> {
    return jobs.readJobs(this.pool, 'WHERE dag_id = $1', [dagId]);
  }

  jobStates(ids: readonly string[]): Promise<Map<string, JobState>> {
    return jobs.jobStates(this.pool, ids);
  }

  loadActiveJobs(): Promise<Job[]> {
    return jobs.activeJobs(this.pool);
  }

  async getJob(id: string): Promise<Job | undefined> {
    return (await jobs.readJobs(this.pool, 'WHERE id = $1', [id], ''))[0];
  }

  listJobs(filter: JobFilter): Promise<Job[]> {
    return jobs.listJobs(this.pool, filter);
  }

  countByState(): Promise<Record<JobState, number>> {
    return jobs.countByState(this.pool);
  }

  maxJobSeq(): Promise<number> {
    return jobs.scalar(this.pool, 'SELECT MAX(seq) AS v FROM jobs');
  }

  jobEvents(jobId: string): Promise<JobEvent[]> {
    return jobs.jobEvents(this.pool, jobId);
  }

  readLogs(jobId: string, afterSeq: number, limit: number, maxChars?: number): Promise<StoredLogLine[]> {
    return readLogLines(this.pool, jobId, afterSeq, limit, maxChars);
  }

  logBytes(jobId: string): Promise<number> {
    return jobs.scalar(this.pool, 'SELECT SUM(bytes) AS v FROM job_log_chunks WHERE job_id = $1', [jobId]);
  }

  async getMeta(key: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]);
    return rows[0]?.value;
  }

  kvGet(key: string, now: number): Promise<KvEntry | undefined> {
    return kv.kvGet(this.pool, key, now);
  }

  async kvSmembers(key: string, now: number): Promise<string[]> {
    const entry = await kv.kvGet(this.pool, key, now);
    if (entry?.kind === 'string') throw wrongType(key, 'string');
    return entry?.value ?? [];
  }

  kvKeys(prefix: string, limit: number, now: number): Promise<string[]> {
    return kv.kvKeys(this.pool, prefix, limit, now);
  }

  getKeyedArtifact(key: string): Promise<KeyedArtifact | undefined> {
    return kv.keyedArtifact(this.pool, key);
  }

  listKeyedArtifacts(prefix: string, limit: number): Promise<KeyedArtifact[]> {
    return kv.keyedArtifacts(this.pool, prefix, limit);
  }

  artifactReachable(hash: string, idPrefix: string): Promise<boolean> {
    return kv.artifactReachable(this.pool, hash, idPrefix);
  }

  artifactInUse(hash: string): Promise<boolean> {
    return kv.artifactInUse(this.pool, hash);
  }

  async storeBytes(): Promise<StoreBytes> {
    const db = await jobs.scalar(
      this.pool,
      "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint AS v FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'",
    );
    return { db, wal: 0 };
  }

  async getSchedule(id: string): Promise<ScheduleRecord | undefined> {
    return (await jobs.readSchedules(this.pool, id))[0];
  }

  listSchedules(): Promise<ScheduleRecord[]> {
    return jobs.readSchedules(this.pool);
  }

  close(): Promise<void> {
    this.#closed ??= this.pool.end();
    return this.#closed;
  }

  /** One write transaction, fenced like every write of this store: how security writes its rows here (pg-security-rows.ts). */
  transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#write(fn);
  }

  #write<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, this.#epoch, fn);
  }
}
