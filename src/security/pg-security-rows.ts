import type pg from 'pg';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { PostgresStore } from '../store/postgres/pg-store.js';
import type { LedgerRow, LedgerRows, SecurityRows, TokenChange, TokenRow, TokenRows } from './security-rows.js';

const HEAD_KEY = 'audit.head';
const UNIQUE_VIOLATION = '23505';

/** What the rows need of the store: its pool for reads, its fenced transactions for writes. */
export type PgSecurityHost = Pick<PostgresStore, 'pool' | 'transaction'>;

/**
 * Security's rows in a PostgreSQL store (the tables of pg-migrations.ts). Every write is one of
 * the store's transactions, so it is fenced by the leader epoch as the job store's writes are: a
 * deposed master's token change or ledger batch fails with E_FENCED and writes nothing.
 */
export class PgSecurityRows implements SecurityRows {
  readonly tokens: TokenRows;
  readonly ledger: LedgerRows;

  constructor(store: PgSecurityHost) {
    this.tokens = pgTokenRows(store);
    this.ledger = pgLedgerRows(store);
  }

  /** The pool is the store's; its owner closes it. */
  close(): void {}
}

function pgTokenRows(store: PgSecurityHost): TokenRows {
  return {
    all: async () => (await store.pool.query<TokenRow>('SELECT * FROM api_tokens ORDER BY created_at, id')).rows,
    write: (change) => store.transaction((c) => writeTokens(c, change)),
    touch: async (id, at) => {
      await store.transaction((c) => c.query('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2', [at, id]));
    },
  };
}

async function writeTokens(client: pg.PoolClient, change: TokenChange): Promise<void> {
  for (const r of change.revoke) await client.query('UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [r.at, r.id]);
  const t = change.insert;
  if (t === undefined) return;
  try {
    await client.query('INSERT INTO api_tokens (id, name, role, namespace, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      t.id,
      t.name,
      t.role,
      t.namespace,
      t.hash,
      t.created_at,
      t.expires_at,
    ]);
  } catch (err) {
    // Two creates of one name in flight at once: the index of live names keeps the second out.
    if ((err as { code?: unknown }).code === UNIQUE_VIOLATION) {
      throw new TitanError(ErrorCode.INVALID_REQUEST, `a live token is already named ${t.name}: revoke it first or pick another name`);
    }
    throw err;
  }
}

function pgLedgerRows(store: PgSecurityHost): LedgerRows {
  const pool = store.pool;
  return {
    start: async () => {
      const last = (await pool.query<LedgerRow>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0];
      const { rows } = await pool.query<{ n: number }>('SELECT COUNT(*) AS n FROM audit_log');
      // Rows carry their seq from the ledger, so no sequence counts them: a cut tail's seqs come
      // back, and the seal checked at start is what finds the cut.
      return { last, highestSeq: last?.seq ?? 0, rows: rows[0]?.n ?? 0 };
    },
    append: async (rows, seal) => {
      await store.transaction(async (c) => {
        await c.query(
          `INSERT INTO audit_log (seq, at, who, role, action, target, source, result, prev_hash, hash)
           SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])`,
          COLUMNS.map((column) => rows.map((row) => row[column])),
        );
        await c.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [HEAD_KEY, seal]);
      });
    },
    recent: async (limit) => (await pool.query<LedgerRow>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT $1', [limit])).rows,
    page: async (afterSeq, limit) => (await pool.query<LedgerRow>('SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit])).rows,
    sealedHead: async () => (await pool.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [HEAD_KEY])).rows[0]?.value,
  };
}

const COLUMNS = ['seq', 'at', 'who', 'role', 'action', 'target', 'source', 'result', 'prev_hash', 'hash'] as const;
