import Database from 'better-sqlite3';
import type { LedgerRow, LedgerRows, LedgerStart, SecurityRows, TokenChange, TokenRow, TokenRows } from './security-rows.js';

const HEAD_KEY = 'audit.head';

/**
 * Security's rows in the master's SQLite file (tables from migration 6), on a connection of its
 * own so the job store's contract stays what it was. Every call is synchronous: a write has
 * committed when it returns, or it throws.
 */
export class SqliteSecurityRows implements SecurityRows {
  readonly tokens: TokenRows;
  readonly ledger: LedgerRows;
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('busy_timeout = 5000');
    // As the job store: a commit survives the process being killed; only an OS crash may lose the last ones.
    this.db.pragma('synchronous = NORMAL');
    this.tokens = sqliteTokenRows(this.db);
    this.ledger = sqliteLedgerRows(this.db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

export function sqliteTokenRows(db: Database.Database): TokenRows {
  const insert = db.prepare('INSERT INTO api_tokens (id, name, role, namespace, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const revoke = db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const touch = db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?');
  const selectAll = db.prepare<[], TokenRow>('SELECT * FROM api_tokens ORDER BY created_at, id');
  const write = db.transaction((change: TokenChange) => {
    for (const r of change.revoke) revoke.run(r.at, r.id);
    const t = change.insert;
    if (t !== undefined) insert.run(t.id, t.name, t.role, t.namespace, t.hash, t.created_at, t.expires_at);
  });
  return {
    all: () => selectAll.all(),
    write: (change) => write(change),
    touch: (id, at) => void touch.run(at, id),
  };
}

export function sqliteLedgerRows(db: Database.Database): LedgerRows {
  const insert = db.prepare(
    'INSERT INTO audit_log (seq, at, who, role, action, target, source, result, prev_hash, hash) VALUES (@seq, @at, @who, @role, @action, @target, @source, @result, @prev_hash, @hash)',
  );
  // sqlite_sequence remembers the highest seq ever handed out, so a deleted tail is never reused.
  const highestSeq = db.prepare<[], number>("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'), 0)").pluck();
  const selectLast = db.prepare<[], LedgerRow>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1');
  const count = db.prepare<[], number>('SELECT COUNT(*) FROM audit_log').pluck();
  const selectRecent = db.prepare<[number], LedgerRow>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?');
  const selectPage = db.prepare<[number, number], LedgerRow>('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?');
  const writeHead = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const readHead = db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck();
  const append = db.transaction((rows: readonly LedgerRow[], seal: string) => {
    for (const row of rows) insert.run(row);
    writeHead.run(HEAD_KEY, seal);
  });
  return {
    start: (): LedgerStart => ({ last: selectLast.get(), highestSeq: highestSeq.get() ?? 0, rows: count.get() ?? 0 }),
    append: (rows, seal) => append(rows, seal),
    recent: (limit) => selectRecent.all(limit),
    page: (afterSeq, limit) => selectPage.all(afterSeq, limit),
    sealedHead: () => readHead.get(HEAD_KEY),
  };
}
