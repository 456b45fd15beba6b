import type { Database, Statement } from 'better-sqlite3';
import { ErrorCode, TitanError } from '../common/errors.js';
import { DAG_STATES, type Dag, type DagState } from '../core/dag.js';

export interface DagRow {
  id: string;
  seq: number;
  name: string;
  state: string;
  created_at: number;
  finished_at: number | null;
  total: number;
  unfinished: number;
  failed: number;
}

const COLUMNS = 'id, seq, name, state, created_at, finished_at, total, unfinished, failed';

export function toRow(dag: Dag): DagRow {
  return {
    id: dag.id,
    seq: dag.seq,
    name: dag.name,
    state: dag.state,
    created_at: dag.createdAt,
    finished_at: dag.finishedAt,
    total: dag.total,
    unfinished: dag.unfinished,
    failed: dag.failed,
  };
}

export function fromRow(row: DagRow): Dag {
  if (!(DAG_STATES as readonly string[]).includes(row.state)) {
    throw new TitanError(ErrorCode.INTERNAL, `store is corrupt: DAG "${row.id}" has an unknown state "${row.state}"`);
  }
  return {
    id: row.id,
    seq: row.seq,
    name: row.name,
    state: row.state as DagState,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    total: row.total,
    unfinished: row.unfinished,
    failed: row.failed,
  };
}

/** The `dags` table: one row per DAG run, rewritten whole on every change (it is tiny). */
export class DagTable {
  private readonly upsert: Statement<[DagRow]>;
  private readonly selectActive: Statement<[], DagRow>;
  private readonly selectOne: Statement<[string], DagRow>;
  private readonly selectRecent: Statement<[number], DagRow>;
  private readonly selectRecentPrefixed: Statement<[number, string, number], DagRow>;
  private readonly selectMaxSeq: Statement<[], number>;

  constructor(db: Database) {
    this.upsert = db.prepare(
      `INSERT INTO dags (${COLUMNS}) VALUES (@id, @seq, @name, @state, @created_at, @finished_at, @total, @unfinished, @failed)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, finished_at = excluded.finished_at,
         total = excluded.total, unfinished = excluded.unfinished, failed = excluded.failed`,
    );
    this.selectActive = db.prepare(`SELECT ${COLUMNS} FROM dags WHERE state = 'running' ORDER BY seq`);
    this.selectOne = db.prepare(`SELECT ${COLUMNS} FROM dags WHERE id = ?`);
    this.selectRecent = db.prepare(`SELECT ${COLUMNS} FROM dags ORDER BY seq DESC LIMIT ?`);
    this.selectRecentPrefixed = db.prepare(`SELECT ${COLUMNS} FROM dags WHERE substr(id, 1, ?) = ? ORDER BY seq DESC LIMIT ?`);
    this.selectMaxSeq = db.prepare<[], number>('SELECT COALESCE(MAX(seq), 0) FROM dags').pluck();
  }

  write(dag: Dag): void {
    this.upsert.run(toRow(dag));
  }

  active(): Dag[] {
    return this.selectActive.all().map(fromRow);
  }

  get(id: string): Dag | undefined {
    const row = this.selectOne.get(id);
    return row === undefined ? undefined : fromRow(row);
  }

  recent(limit: number, idPrefix = ''): Dag[] {
    if (limit <= 0) return [];
    return (idPrefix === '' ? this.selectRecent.all(limit) : this.selectRecentPrefixed.all(idPrefix.length, idPrefix, limit)).map(fromRow);
  }

  maxSeq(): number {
    return this.selectMaxSeq.get() ?? 0;
  }
}
