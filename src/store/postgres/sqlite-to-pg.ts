import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { ErrorCode, TitanError } from '../../common/errors.js';
import { SqliteStore } from '../sqlite-store.js';
import { migratePg } from './pg-migrations.js';
import { inTransaction, openPgPool, type PgPoolOptions } from './pg-pool.js';

/** The tables copied, parents first; the columns are the same on both sides (pg-migrations.ts). */
export const COPIED_TABLES = ['meta', 'dags', 'jobs', 'job_events', 'job_log_chunks', 'kv', 'keyed_artifacts', 'schedules', 'api_tokens', 'audit_log'] as const;
const BATCH_ROWS = 1_000;
const HASH_FILE = /^[a-f0-9]{64}$/;

export type CopyReport = Record<(typeof COPIED_TABLES)[number] | 'artifact_blobs', number>;

/**
 * Copies a SQLite data dir (`titan.db` and its `artifacts/` folder) into an empty PostgreSQL
 * store, in one PostgreSQL transaction: all of it lands, or nothing. Rows keep their keys and
 * seqs (job and log seqs, event and audit ids: followers' cursors and the audit chain stay valid);
 * booleans stored as 0/1 become booleans; the identity counters continue after the copied ids.
 * The SQLite file is brought to the latest schema first and only read after that.
 * Failure: E_INVALID_REQUEST when the target already holds jobs, DAGs, schedules or tokens.
 */
export async function copySqliteToPostgres(dataDir: string, url: string, options: PgPoolOptions = {}): Promise<CopyReport> {
  const file = join(dataDir, 'titan.db');
  if (!existsSync(file))
    throw new TitanError(ErrorCode.INVALID_REQUEST, `${dataDir} holds no Titan store (no titan.db): pass the master's --data-dir as --from`);
  SqliteStore.open(file).close();
  const source = new Database(file, { readonly: true });
  const pool = openPgPool(url, { ...options, max: 1 });
  try {
    await migratePg(pool);
    return await inTransaction(pool, null, async (client) => {
      await refuseUnlessEmpty(client);
      const report = {} as CopyReport;
      for (const table of COPIED_TABLES) report[table] = await copyTable(source, client, table);
      await continueCounters(client);
      report.artifact_blobs = await copyArtifacts(join(dataDir, 'artifacts'), client);
      return report;
    });
  } finally {
    source.close();
    await pool.end();
  }
}

async function refuseUnlessEmpty(client: pg.PoolClient): Promise<void> {
  for (const table of ['jobs', 'dags', 'schedules', 'api_tokens', 'audit_log']) {
    const { rows } = await client.query(`SELECT 1 FROM ${table} LIMIT 1`);
    if (rows.length > 0) {
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        `the PostgreSQL store already holds data (table ${table}); migrate into an empty database or schema (--schema)`,
      );
    }
  }
  await client.query('DELETE FROM meta');
}

async function copyTable(source: Database.Database, client: pg.PoolClient, table: string): Promise<number> {
  let copied = 0;
  let batch: Record<string, unknown>[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const columns = Object.keys(batch[0]!);
    const params: unknown[] = [];
    const tuples = batch.map((row) => `(${columns.map((c) => `$${params.push(row[c] ?? null)}`).join(', ')})`);
    await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
    copied += batch.length;
    batch = [];
  };
  // SQLite's 0/1 arrive as '0'/'1', which PostgreSQL reads as booleans for the BOOLEAN columns.
  for (const row of source.prepare(`SELECT * FROM ${table}`).iterate() as IterableIterator<Record<string, unknown>>) {
    batch.push(row);
    if (batch.length >= BATCH_ROWS) await flush();
  }
  await flush();
  return copied;
}

/** Identity columns and the log seq counter continue after what was copied, so nothing is handed out twice. */
async function continueCounters(client: pg.PoolClient): Promise<void> {
  for (const [table, column] of [
    ['job_events', 'id'],
    ['audit_log', 'seq'],
  ] as const) {
    await client.query(
      `SELECT setval(pg_get_serial_sequence('${table}', '${column}'), GREATEST((SELECT MAX(${column}) FROM ${table}), 1), (SELECT COUNT(*) > 0 FROM ${table}))`,
    );
  }
  await client.query(
    `UPDATE log_seq SET highest = GREATEST(
       (SELECT COALESCE(MAX(last_seq), 0) FROM job_log_chunks),
       (SELECT COALESCE(MAX(value::bigint), 0) FROM meta WHERE key = 'log_seq_floor'))`,
  );
}

async function copyArtifacts(dir: string, client: pg.PoolClient): Promise<number> {
  if (!existsSync(dir)) return 0;
  let copied = 0;
  for (const name of readdirSync(dir)) {
    if (!HASH_FILE.test(name)) continue; // temp files of an interrupted upload
    const bytes = readFileSync(join(dir, name));
    if (createHash('sha256').update(bytes).digest('hex') !== name) {
      throw new TitanError(
        ErrorCode.INTERNAL,
        `artifact ${name} in ${dir} does not hash to its name: the file is damaged; remove it (jobs naming it fail until it is uploaded again) and migrate again`,
      );
    }
    await client.query('INSERT INTO artifact_blobs (hash, size, bytes, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING', [
      name,
      bytes.byteLength,
      bytes,
      Date.now(),
    ]);
    copied++;
  }
  return copied;
}
