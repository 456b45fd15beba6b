import { statSync } from 'node:fs';
import { makePrivateDir, makePrivateFile, tightenIfPresent } from '../common/private-files.js';
import { WAL_TRUNCATE_BYTES, WalCheckpointer } from './wal-checkpointer.js';
import type { Release } from './writer-gate.js';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Dag } from '../core/dag.js';
import { DagTable } from './dag-table.js';
import { KvTable } from './kv-table.js';
import { ArtifactReach } from './artifact-reach.js';
import { LogChunkTable } from './log-chunks.js';
import { StorePruner, type PruneBatch } from './pruner.js';
import { ScheduleTable } from './schedule-table.js';
import { JOB_STATES, isFinal, type Job, type JobEvent, type JobState } from '../core/job.js';
import { eventToRow, jobToRow, parseState, rowToEvent, rowToJob, type EventRow, type JobRow } from './job-row.js';
import { migrate } from './migrations.js';
import type { JobFilter, JobWrite, KeyedArtifact, KvEntry, LogLine, ScheduleRecord, Store, StoredLogLine } from './store.js';

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

// Naming the active states (rather than `NOT IN` the final ones) lets the planner probe the state
// index once per state instead of scanning every finished job. They are identifiers from our own
// code, so inlining them is safe, and a state added to core is picked up here.
const ACTIVE_STATES_SQL = JOB_STATES.filter((s) => !isFinal(s))
  .map((s) => `'${s}'`)
  .join(', ');

const JOB_COLUMNS =
  'id, seq, state, attempt, worker_id, submitted_at, started_at, finished_at, exit_code, signal, reason, spec, dag_id, not_before, pinned_worker, crashes, attempt_base, service_ready';

/** Exported so a test can check its query plan uses the state index. */
export const SELECT_ACTIVE_JOBS = `SELECT ${JOB_COLUMNS} FROM jobs WHERE state IN (${ACTIVE_STATES_SQL}) ORDER BY seq`;

/** The Store on one SQLite file, as the single master process uses it. */
export class SqliteStore implements Store {
  private readonly upsertJob: Statement<[JobRow]>;
  private readonly insertEvent: Statement<[EventRow]>;
  private readonly selectActive: Statement<[], JobRow>;
  private readonly selectJob: Statement<[string], JobRow>;
  private readonly selectCounts: Statement<[], { state: string; n: number }>;
  private readonly selectMaxSeq: Statement<[], number>;
  private readonly selectEvents: Statement<[string], EventRow>;
  private readonly selectMeta: Statement<[string], string>;
  private readonly upsertMeta: Statement<[string, string]>;
  /** Keyed by the WHERE clause of the filter; a bounded number of shapes. */
  private readonly listStatements = new Map<string, Statement<unknown[], JobRow>>();
  private readonly writeBatch: (batch: readonly JobWrite[], dags: readonly Dag[], schedules: readonly ScheduleRecord[], rows: readonly Job[]) => void;
  private readonly dropUnsealed: () => number;
  private readonly dags: DagTable;
  private readonly kv: KvTable;
  private readonly reach: ArtifactReach;
  private readonly schedules: ScheduleTable;
  private readonly selectDagJobs: Statement<[string], JobRow>;
  private readonly logs: LogChunkTable;
  private readonly pruner: StorePruner;

  private constructor(
    /** Where the file is (or ':memory:'); reopening this path gives the same data back. */
    readonly path: string,
    private readonly db: Database.Database,
    private readonly checkpointer: WalCheckpointer | null = null,
  ) {
    this.upsertJob = db.prepare(
      `INSERT INTO jobs (${JOB_COLUMNS})
       VALUES (@id, @seq, @state, @attempt, @worker_id, @submitted_at, @started_at, @finished_at,
               @exit_code, @signal, @reason, @spec, @dag_id, @not_before, @pinned_worker, @crashes, @attempt_base, @service_ready)
       ON CONFLICT (id) DO UPDATE SET
         seq = excluded.seq, state = excluded.state, attempt = excluded.attempt,
         worker_id = excluded.worker_id, submitted_at = excluded.submitted_at,
         started_at = excluded.started_at, finished_at = excluded.finished_at,
         exit_code = excluded.exit_code, signal = excluded.signal, reason = excluded.reason,
         spec = excluded.spec, dag_id = excluded.dag_id, not_before = excluded.not_before,
         pinned_worker = excluded.pinned_worker, crashes = excluded.crashes, attempt_base = excluded.attempt_base,
         service_ready = excluded.service_ready`,
    );
    this.insertEvent = db.prepare(
      `INSERT INTO job_events (job_id, at, from_state, to_state, attempt, worker_id, detail)
       VALUES (@job_id, @at, @from_state, @to_state, @attempt, @worker_id, @detail)`,
    );
    this.selectActive = db.prepare(SELECT_ACTIVE_JOBS);
    this.selectJob = db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`);
    this.selectCounts = db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state');
    this.selectMaxSeq = db.prepare<[], number>('SELECT COALESCE(MAX(seq), 0) FROM jobs').pluck();
    this.selectEvents = db.prepare(
      `SELECT job_id, at, from_state, to_state, attempt, worker_id, detail
       FROM job_events WHERE job_id = ? ORDER BY id`,
    );
    this.selectMeta = db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck();
    this.upsertMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.dags = new DagTable(db);
    this.kv = new KvTable(db);
    this.reach = new ArtifactReach(db);
    this.schedules = new ScheduleTable(db);
    this.selectDagJobs = db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE dag_id = ? ORDER BY seq`);
    this.writeBatch = db.transaction((batch: readonly JobWrite[], dags: readonly Dag[], schedules: readonly ScheduleRecord[], rows: readonly Job[]) => {
      for (const job of rows) this.upsertJob.run(jobToRow(job));
      for (const write of batch) {
        this.upsertJob.run(jobToRow(write.job));
        this.insertEvent.run(eventToRow(write.event));
      }
      for (const dag of dags) this.dags.write(dag);
      for (const schedule of schedules) this.schedules.write(schedule);
    });
    const unsealed = 'SELECT id FROM jobs WHERE dag_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dags WHERE dags.id = jobs.dag_id)';
    const dropEvents = db.prepare(`DELETE FROM job_events WHERE job_id IN (${unsealed})`);
    const dropJobs = db.prepare(`DELETE FROM jobs WHERE id IN (${unsealed})`);
    this.dropUnsealed = db.transaction(() => {
      dropEvents.run();
      return dropJobs.run().changes;
    });
    this.logs = new LogChunkTable(db);
    this.pruner = new StorePruner(db);
  }

  /**
   * Opens (creating when missing, with its parent directory) the store file at `path` and brings
   * its schema up to date. ':memory:' gives a private in-memory store, for tests.
   * Failure: throws when the file was written by a newer Titan, or cannot be opened.
   */
  static open(path: string): SqliteStore {
    if (path !== ':memory:') {
      makePrivateDir(dirname(path));
      makePrivateFile(path);
      tightenIfPresent([`${path}-wal`, `${path}-shm`]);
    }
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      // With WAL, NORMAL syncs at checkpoints rather than at every commit. A committed
      // transaction is in the WAL file (in the OS page cache) when the call returns, so it
      // survives the process being killed (kill -9), which is what Store promises. An OS crash
      // or power loss may lose the last commits, though never corrupts the file.
      db.pragma('synchronous = NORMAL');
      // A CLI or a backup tool reading the file alongside the master waits instead of failing.
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = OFF');
      migrate(db, path);
      if (path === ':memory:') return new SqliteStore(path, db);
      // Checkpoints move to a thread of their own (wal-checkpointer.ts): a commit never waits for one.
      db.pragma('wal_autocheckpoint = 0');
      // When a writer restarts the WAL after a full checkpoint, it also shrinks the file to this.
      db.pragma(`journal_size_limit = ${WAL_TRUNCATE_BYTES}`);
      return new SqliteStore(path, db, new WalCheckpointer(path));
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /**
   * Effects: in one transaction, each job is inserted or replaced (every column) and each event
   * appended, in batch order; a job written twice in a batch ends as its last write. `rows`:
   * jobs rewritten without an event (before the batch), as a retried admission chunk is.
   * Failure: throws (e.g. two jobs share a seq) and nothing of the batch is written.
   */
  writeJobs(batch: readonly JobWrite[], dags: readonly Dag[] = [], schedules: readonly ScheduleRecord[] = [], rows: readonly Job[] = []): void {
    if (batch.length > 0 || dags.length > 0 || schedules.length > 0 || rows.length > 0) this.writeBatch(batch, dags, schedules, rows);
  }

  /**
   * Deletes the jobs (and their events) of DAG admissions that never sealed: rows of a run whose
   * DAG row was never written (sealed-admission.ts). Returns how many jobs went.
   */
  dropUnsealedDagJobs(): number {
    return this.dropUnsealed();
  }

  loadActiveDags(): Dag[] {
    return this.dags.active();
  }

  getDag(id: string): Dag | undefined {
    return this.dags.get(id);
  }

  listDags(limit: number, idPrefix?: string): Dag[] {
    return this.dags.recent(limit, idPrefix);
  }

  maxDagSeq(): number {
    return this.dags.maxSeq();
  }

  jobsOfDag(dagId: string): Job[] {
    return this.selectDagJobs.all(dagId).map(rowToJob);
  }

  jobStates(ids: readonly string[]): Map<string, JobState> {
    const states = new Map<string, JobState>();
    for (const id of ids) {
      const row = this.selectJob.get(id);
      if (row !== undefined) states.set(id, parseState(row.state, `job "${id}"`));
    }
    return states;
  }

  loadActiveJobs(): Job[] {
    return this.selectActive.all().map(rowToJob);
  }

  getJob(id: string): Job | undefined {
    const row = this.selectJob.get(id);
    return row === undefined ? undefined : rowToJob(row);
  }

  /** Newest first. An empty `states` list matches no job; leave `states` out for every job. */
  listJobs(filter: JobFilter): Job[] {
    if (filter.limit <= 0) return [];
    const states = filter.states === undefined ? [] : [...new Set(filter.states)];
    if (filter.states !== undefined && states.length === 0) return [];
    const where: string[] = [];
    const params: unknown[] = [];
    if (states.length > 0) {
      where.push(`state IN (${states.map(() => '?').join(', ')})`);
      params.push(...states);
    }
    for (const [column, value] of [
      ['dag_id = ?', filter.dagId],
      ['worker_id = ?', filter.workerId],
      ['seq < ?', filter.beforeSeq],
    ] as const) {
      if (value === undefined) continue;
      where.push(column);
      params.push(value);
    }
    if (filter.idPrefix !== undefined && filter.idPrefix !== '') {
      where.push('substr(id, 1, ?) = ?');
      params.push(filter.idPrefix.length, filter.idPrefix);
    }
    if (filter.search !== undefined && filter.search !== '') {
      const pattern = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push("(id LIKE ? ESCAPE '\\' OR json_extract(spec, '$.name') LIKE ? ESCAPE '\\')");
      params.push(pattern, pattern);
    }
    return this.listStatement(where.join(' AND '))
      .all(...params, filter.limit)
      .map(rowToJob);
  }

  countByState(): Record<JobState, number> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const { state, n } of this.selectCounts.all()) counts[parseState(state, 'a job')] = n;
    return counts;
  }

  maxJobSeq(): number {
    return this.selectMaxSeq.get() ?? 0;
  }

  jobEvents(jobId: string): JobEvent[] {
    return this.selectEvents.all(jobId).map(rowToEvent);
  }

  /** Effects: the lines are appended in one transaction, in order, each given the next seq. */
  appendLogs(lines: readonly LogLine[]): void {
    this.logs.append(lines);
  }

  readLogs(jobId: string, afterSeq: number, limit: number, maxChars = Infinity): StoredLogLine[] {
    return this.logs.read(jobId, afterSeq, limit, maxChars);
  }

  logBytes(jobId: string): number {
    return this.logs.bytesOf(jobId);
  }

  pruneBatch(before: number, maxRows: number): PruneBatch {
    return this.pruner.pruneBatch(before, maxRows, this.logs.highestSeq);
  }

  storeFileBytes(): { db: number; wal: number } {
    if (this.path === ':memory:') return { db: 0, wal: 0 };
    return { db: sizeOf(this.path), wal: sizeOf(`${this.path}-wal`) };
  }

  getMeta(key: string): string | undefined {
    return this.selectMeta.get(key);
  }

  setMeta(key: string, value: string): void {
    this.upsertMeta.run(key, value);
  }

  kvGet(key: string, now: number): KvEntry | undefined {
    return this.kv.get(key, now);
  }

  kvPut(key: string, value: string, ttlMs: number | null, now: number): void {
    this.kv.put(key, value, ttlMs, now);
  }

  kvDelete(key: string): boolean {
    return this.kv.delete(key);
  }

  kvSadd(key: string, members: readonly string[], ttlMs: number | null, now: number): number {
    return this.kv.sadd(key, members, ttlMs, now);
  }

  kvKeys(prefix: string, limit: number, now: number): string[] {
    return this.kv.keys(prefix, limit, now);
  }

  kvSmembers(key: string, now: number): string[] {
    return this.kv.smembers(key, now);
  }

  publishArtifact(key: string, hash: string, size: number, jobId: string | null, now: number): KeyedArtifact {
    return this.kv.publish(key, hash, size, jobId, now);
  }

  getKeyedArtifact(key: string): KeyedArtifact | undefined {
    return this.kv.artifact(key);
  }

  listKeyedArtifacts(prefix: string, limit: number): KeyedArtifact[] {
    return this.kv.artifacts(prefix, limit);
  }

  artifactReachable(hash: string, idPrefix: string): boolean {
    return this.reach.reachable(hash, idPrefix);
  }

  artifactInUse(hash: string): boolean {
    return this.reach.inUse(hash);
  }

  putSchedule(schedule: ScheduleRecord): void {
    this.schedules.write(schedule);
  }

  getSchedule(id: string): ScheduleRecord | undefined {
    return this.schedules.get(id);
  }

  listSchedules(): ScheduleRecord[] {
    return this.schedules.all();
  }

  deleteSchedule(id: string): boolean {
    return this.schedules.delete(id);
  }

  /** Resolves once no WAL checkpoint holds the writer, and keeps the next from starting until released (wal-checkpointer.ts). */
  holdOffCheckpoints(): Promise<Release> {
    return this.checkpointer === null ? Promise.resolve(() => undefined) : this.checkpointer.holdOffRestart();
  }

  close(): void {
    this.checkpointer?.stop();
    if (this.db.open) this.db.close();
  }

  /** Prepared once per shape of filter (the WHERE text), so a dashboard's polling reuses them. */
  private listStatement(where: string): Statement<unknown[], JobRow> {
    let statement = this.listStatements.get(where);
    if (statement === undefined) {
      statement = this.db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs ${where === '' ? '' : `WHERE ${where}`} ORDER BY seq DESC LIMIT ?`);
      this.listStatements.set(where, statement);
    }
    return statement;
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
