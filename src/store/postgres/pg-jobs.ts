import type pg from 'pg';
import { JOB_STATES, isFinal, type Job, type JobState } from '../../core/job.js';
import type { TickCommit } from '../async-store.js';
import { fromRow as dagFromRow, toRow as dagToRow, type DagRow } from '../dag-table.js';
import { eventToRow, jobToRow, parseState, rowToEvent, rowToJob, type EventRow, type JobRow } from '../job-row.js';
import { fromRow as scheduleFromRow, toRow as scheduleToRow, type ScheduleRow } from '../schedule-table.js';
import type { JobFilter, ScheduleRecord } from '../store.js';
import type { JobEvent } from '../../core/job.js';
import type { Dag } from '../../core/dag.js';

/** A pool or one client of it inside a transaction. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

const JOB_COLUMN_NAMES = [
  'id',
  'seq',
  'state',
  'attempt',
  'worker_id',
  'submitted_at',
  'started_at',
  'finished_at',
  'exit_code',
  'signal',
  'reason',
  'spec',
  'dag_id',
  'not_before',
  'pinned_worker',
  'crashes',
  'attempt_base',
  'service_ready',
] as const;
const JOB_ARRAY_TYPES = [
  'text',
  'bigint',
  'text',
  'int',
  'text',
  'bigint',
  'bigint',
  'bigint',
  'int',
  'text',
  'text',
  'text',
  'text',
  'bigint',
  'text',
  'int',
  'int',
  'int',
];
/** service_ready is a BOOLEAN column and a 0/1 number in JobRow. */
const JOB_SELECT = JOB_COLUMN_NAMES.map((c) => (c === 'service_ready' ? 'service_ready::int AS service_ready' : c)).join(', ');
const ACTIVE_STATES = JOB_STATES.filter((s) => !isFinal(s));

// One statement for the whole tick: the rows travel as one array per column and unnest() turns
// them back into rows, so a tick of 500 transitions is one round trip, not 500.
const UPSERT_JOBS = `
  INSERT INTO jobs (${JOB_COLUMN_NAMES.join(', ')})
  SELECT ${JOB_COLUMN_NAMES.map((c) => (c === 'service_ready' ? 'u.service_ready <> 0' : `u.${c}`)).join(', ')}
  FROM unnest(${JOB_ARRAY_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS u(${JOB_COLUMN_NAMES.join(', ')})
  ON CONFLICT (id) DO UPDATE SET ${JOB_COLUMN_NAMES.filter((c) => c !== 'id')
    .map((c) => `${c} = excluded.${c}`)
    .join(', ')}`;

const EVENT_COLUMN_NAMES = ['job_id', 'at', 'from_state', 'to_state', 'attempt', 'worker_id', 'detail'] as const;
const INSERT_EVENTS = `
  INSERT INTO job_events (${EVENT_COLUMN_NAMES.join(', ')})
  SELECT ${EVENT_COLUMN_NAMES.join(', ')}
  FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[]) WITH ORDINALITY
    AS u(${EVENT_COLUMN_NAMES.join(', ')}, ord)
  ORDER BY ord`;

const DAG_COLUMNS = 'id, seq, name, state, created_at, finished_at, total, unfinished, failed';
const UPSERT_DAG = `INSERT INTO dags (${DAG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (id) DO UPDATE SET state = excluded.state, finished_at = excluded.finished_at,
    total = excluded.total, unfinished = excluded.unfinished, failed = excluded.failed`;

const SCHEDULE_COLUMNS = 'id, name, cron, tz, overlap, misfire, paused, payload, last_due_at, last_dag_id, created_at, resumed_at';
const SCHEDULE_SELECT = SCHEDULE_COLUMNS.replace('paused', 'paused::int AS paused');
const UPSERT_SCHEDULE = `INSERT INTO schedules (${SCHEDULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7::int <> 0, $8, $9, $10, $11, $12)
  ON CONFLICT (id) DO UPDATE SET ${SCHEDULE_COLUMNS.split(', ')
    .filter((c) => c !== 'id')
    .map((c) => `${c} = excluded.${c}`)
    .join(', ')}`;

/** Writes a tick inside the caller's transaction: a job written twice ends as its last write, every event is kept in order. */
/** A tick's rows, serialised at once: what the core's objects hold at the moment of the commit call. */
export interface TickRows {
  readonly jobs: readonly JobRow[];
  readonly events: readonly EventRow[];
  readonly dags: readonly DagRow[];
  readonly schedules: readonly ScheduleRow[];
}

/**
 * Serialises a tick synchronously. The core goes on changing its job and DAG objects while the
 * transaction waits for the database: read later, a DAG row would count jobs that finished in
 * ticks not yet committed (and a leader killed in between would leave that DAG running for good).
 */
export function tickRows(tick: TickCommit): TickRows {
  const latest = new Map<string, JobRow>();
  for (const write of tick.writes) latest.set(write.job.id, jobToRow(write.job));
  return {
    jobs: [...latest.values()],
    events: tick.writes.map((w) => eventToRow(w.event)),
    dags: (tick.dags ?? []).map(dagToRow),
    schedules: (tick.schedules ?? []).map(scheduleToRow),
  };
}

export async function writeTickRows(client: Queryable, rows: TickRows): Promise<void> {
  if (rows.jobs.length > 0) {
    await client.query(
      UPSERT_JOBS,
      JOB_COLUMN_NAMES.map((c) => rows.jobs.map((r) => r[c])),
    );
  }
  if (rows.events.length > 0) {
    await client.query(
      INSERT_EVENTS,
      EVENT_COLUMN_NAMES.map((c) => rows.events.map((e) => e[c])),
    );
  }
  for (const r of rows.dags) {
    await client.query(UPSERT_DAG, [r.id, r.seq, r.name, r.state, r.created_at, r.finished_at, r.total, r.unfinished, r.failed]);
  }
  for (const schedule of rows.schedules) await writeScheduleRow(client, schedule);
}

/** A schedule's row, serialised at once (see tickRows). */
export function scheduleRow(schedule: ScheduleRecord): ScheduleRow {
  return scheduleToRow(schedule);
}

export async function writeScheduleRow(client: Queryable, r: ScheduleRow): Promise<void> {
  await client.query(UPSERT_SCHEDULE, [
    r.id,
    r.name,
    r.cron,
    r.tz,
    r.overlap,
    r.misfire,
    r.paused,
    r.payload,
    r.last_due_at,
    r.last_dag_id,
    r.created_at,
    r.resumed_at,
  ]);
}

export async function readSchedules(db: Queryable, id?: string): Promise<ScheduleRecord[]> {
  const { rows } =
    id === undefined
      ? await db.query<ScheduleRow>(`SELECT ${SCHEDULE_SELECT} FROM schedules ORDER BY created_at, id`)
      : await db.query<ScheduleRow>(`SELECT ${SCHEDULE_SELECT} FROM schedules WHERE id = $1`, [id]);
  return rows.map(scheduleFromRow);
}

export async function readDags(db: Queryable, where: string, params: unknown[], order: string): Promise<Dag[]> {
  const { rows } = await db.query<DagRow>(`SELECT ${DAG_COLUMNS} FROM dags ${where} ${order}`, params);
  return rows.map(dagFromRow);
}

export async function readJobs(db: Queryable, where: string, params: unknown[], order = 'ORDER BY seq'): Promise<Job[]> {
  const { rows } = await db.query<JobRow>(`SELECT ${JOB_SELECT} FROM jobs ${where} ${order}`, params);
  return rows.map(rowToJob);
}

export function activeJobs(db: Queryable): Promise<Job[]> {
  return readJobs(db, 'WHERE state = ANY($1::text[])', [ACTIVE_STATES]);
}

export async function jobStates(db: Queryable, ids: readonly string[]): Promise<Map<string, JobState>> {
  const { rows } = await db.query<{ id: string; state: string }>('SELECT id, state FROM jobs WHERE id = ANY($1::text[])', [ids]);
  return new Map(rows.map((r) => [r.id, parseState(r.state, `job "${r.id}"`)]));
}

export async function jobEvents(db: Queryable, jobId: string): Promise<JobEvent[]> {
  const { rows } = await db.query<EventRow>(`SELECT ${EVENT_COLUMN_NAMES.join(', ')} FROM job_events WHERE job_id = $1 ORDER BY id`, [jobId]);
  return rows.map(rowToEvent);
}

/** Newest first. An empty `states` list matches no job; leave `states` out for every job. */
export function listJobs(db: Queryable, filter: JobFilter): Promise<Job[]> {
  if (filter.limit <= 0) return Promise.resolve([]);
  const states = filter.states === undefined ? [] : [...new Set(filter.states)];
  if (filter.states !== undefined && states.length === 0) return Promise.resolve([]);
  const where: string[] = [];
  const params: unknown[] = [];
  const bind = (value: unknown): string => `$${params.push(value)}`;
  if (states.length > 0) where.push(`state = ANY(${bind(states)}::text[])`);
  if (filter.dagId !== undefined) where.push(`dag_id = ${bind(filter.dagId)}`);
  if (filter.workerId !== undefined) where.push(`worker_id = ${bind(filter.workerId)}`);
  if (filter.beforeSeq !== undefined) where.push(`seq < ${bind(filter.beforeSeq)}`);
  if (filter.idPrefix !== undefined && filter.idPrefix !== '') where.push(`starts_with(id, ${bind(filter.idPrefix)})`);
  if (filter.search !== undefined && filter.search !== '') {
    const pattern = bind(`%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`(id ILIKE ${pattern} OR (spec::json ->> 'name') ILIKE ${pattern})`);
  }
  const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
  return readJobs(db, clause, params, `ORDER BY seq DESC LIMIT ${bind(filter.limit)}`);
}

export async function countByState(db: Queryable): Promise<Record<JobState, number>> {
  const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
  const { rows } = await db.query<{ state: string; n: number }>('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state');
  for (const { state, n } of rows) counts[parseState(state, 'a job')] = n;
  return counts;
}

export async function scalar(db: Queryable, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ v: number | null }>(sql, params);
  return rows[0]?.v ?? 0;
}
