import type { Database, Statement } from 'better-sqlite3';
import { ErrorCode, TitanError } from '../common/errors.js';
import { MISFIRE_POLICIES, OVERLAP_POLICIES, type MisfirePolicy, type OverlapPolicy } from '../core/schedule.js';
import type { ScheduleRecord } from './store.js';

export interface ScheduleRow {
  id: string;
  name: string;
  cron: string;
  tz: string | null;
  overlap: string;
  misfire: string;
  paused: number;
  payload: string;
  last_due_at: number | null;
  last_dag_id: string | null;
  created_at: number;
  resumed_at: number | null;
}

const COLUMNS = 'id, name, cron, tz, overlap, misfire, paused, payload, last_due_at, last_dag_id, created_at, resumed_at';

export function toRow(s: ScheduleRecord): ScheduleRow {
  return {
    id: s.id,
    name: s.name,
    cron: s.cron,
    tz: s.tz,
    overlap: s.overlap,
    misfire: s.misfire,
    paused: s.paused ? 1 : 0,
    payload: s.payload,
    last_due_at: s.lastDueAt,
    last_dag_id: s.lastDagId,
    created_at: s.createdAt,
    resumed_at: s.resumedAt,
  };
}

export function fromRow(row: ScheduleRow): ScheduleRecord {
  if (!(OVERLAP_POLICIES as readonly string[]).includes(row.overlap) || !(MISFIRE_POLICIES as readonly string[]).includes(row.misfire)) {
    throw new TitanError(ErrorCode.INTERNAL, `store is corrupt: schedule "${row.id}" has overlap "${row.overlap}" and misfire "${row.misfire}"`);
  }
  return {
    id: row.id,
    name: row.name,
    cron: row.cron,
    tz: row.tz,
    overlap: row.overlap as OverlapPolicy,
    misfire: row.misfire as MisfirePolicy,
    paused: row.paused !== 0,
    payload: row.payload,
    lastDueAt: row.last_due_at,
    lastDagId: row.last_dag_id,
    createdAt: row.created_at,
    resumedAt: row.resumed_at,
  };
}

/** The `schedules` table: one row per cron schedule, rewritten whole on every change (it is tiny). */
export class ScheduleTable {
  private readonly upsert: Statement<[ScheduleRow]>;
  private readonly selectAll: Statement<[], ScheduleRow>;
  private readonly selectOne: Statement<[string], ScheduleRow>;
  private readonly deleteOne: Statement<[string]>;

  constructor(db: Database) {
    this.upsert = db.prepare(
      `INSERT INTO schedules (${COLUMNS}) VALUES (@id, @name, @cron, @tz, @overlap, @misfire, @paused, @payload, @last_due_at, @last_dag_id, @created_at, @resumed_at)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, cron = excluded.cron, tz = excluded.tz, overlap = excluded.overlap,
         misfire = excluded.misfire, paused = excluded.paused, payload = excluded.payload, last_due_at = excluded.last_due_at,
         last_dag_id = excluded.last_dag_id, created_at = excluded.created_at, resumed_at = excluded.resumed_at`,
    );
    this.selectAll = db.prepare(`SELECT ${COLUMNS} FROM schedules ORDER BY created_at, id`);
    this.selectOne = db.prepare(`SELECT ${COLUMNS} FROM schedules WHERE id = ?`);
    this.deleteOne = db.prepare('DELETE FROM schedules WHERE id = ?');
  }

  write(schedule: ScheduleRecord): void {
    this.upsert.run(toRow(schedule));
  }

  all(): ScheduleRecord[] {
    return this.selectAll.all().map(fromRow);
  }

  get(id: string): ScheduleRecord | undefined {
    const row = this.selectOne.get(id);
    return row === undefined ? undefined : fromRow(row);
  }

  delete(id: string): boolean {
    return this.deleteOne.run(id).changes > 0;
  }
}
