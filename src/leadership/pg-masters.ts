import type pg from 'pg';

/**
 * The `masters` table: every master of a replicated cluster writes its own row every few seconds,
 * standby or leader, outside any fence (it says who is there, not what happened). Times are the
 * database's clock, so masters' clocks need not agree.
 */

export interface MasterRow {
  readonly name: string;
  readonly tcp: string | null;
  readonly http: string | null;
  readonly role: 'leader' | 'standby';
  /** The epoch it leads under; null for a standby. */
  readonly epoch: number | null;
}

export interface SeenMasterRow extends MasterRow {
  /** How long ago its row was last written, by the database's clock. */
  readonly seenMsAgo: number;
}

/** Writes (or refreshes) this master's row, seen now. */
export async function announceMaster(db: Pick<pg.ClientBase, 'query'>, row: MasterRow): Promise<void> {
  await db.query(
    `INSERT INTO masters (name, tcp, http, role, epoch, seen_at) VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (name) DO UPDATE SET tcp = $2, http = $3, role = $4, epoch = $5, seen_at = now()`,
    [row.name, row.tcp, row.http, row.role, row.epoch],
  );
}

/** Every row, most recently seen first. */
export async function readMasters(db: Pick<pg.ClientBase, 'query'>): Promise<SeenMasterRow[]> {
  const { rows } = await db.query<MasterRow & { seen_ms_ago: number }>(
    `SELECT name, tcp, http, role, epoch, (EXTRACT(EPOCH FROM now() - seen_at) * 1000)::float8 AS seen_ms_ago
     FROM masters ORDER BY seen_at DESC, name`,
  );
  return rows.map(({ seen_ms_ago, ...row }) => ({ ...row, seenMsAgo: Math.max(0, Math.round(seen_ms_ago)) }));
}

/** Deletes the rows of masters not seen for `olderThanMs` (only the leader does, so a standby never hides another). */
export async function forgetMasters(db: Pick<pg.ClientBase, 'query'>, olderThanMs: number): Promise<number> {
  const { rowCount } = await db.query("DELETE FROM masters WHERE seen_at < now() - $1 * interval '1 millisecond'", [olderThanMs]);
  return rowCount ?? 0;
}
