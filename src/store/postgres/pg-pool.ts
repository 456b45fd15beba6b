import pg from 'pg';
import { fencedError } from '../async-store.js';
import { SCHEMA_PATTERN } from './schema-name.js';

/** int8 (COUNT, BIGINT columns) as a JS number: every value Titan stores is below 2^53. */
const INT8_OID = 20;
const NUMERIC_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID && format !== 'binary') return (text: string) => Number(text);
    return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PgPoolOptions {
  /** Every table lives in this schema (a test's own); the URL's default search_path otherwise. */
  readonly schema?: string;
  readonly max?: number;
  /** Shown in pg_stat_activity, so an operator (or a test) can find a master's sessions. */
  readonly applicationName?: string;
}

export { SCHEMA_PATTERN } from './schema-name.js';

/** What every connection of a master (its pool's, its lease's) is opened with. */
export function pgClientConfig(url: string, options: PgPoolOptions = {}): pg.ClientConfig {
  if (options.schema !== undefined && !SCHEMA_PATTERN.test(options.schema)) {
    throw new Error(`schema ${JSON.stringify(options.schema)} must be lowercase letters, digits and underscores`);
  }
  return {
    connectionString: url,
    types: NUMERIC_TYPES,
    application_name: options.applicationName ?? 'titan-master',
    connectionTimeoutMillis: 5_000,
    ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
  };
}

export function openPgPool(url: string, options: PgPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({ ...pgClientConfig(url, options), max: options.max ?? 8 });
  // An idle client whose session the server ended (restart, pg_terminate_backend) emits here;
  // the pool drops it and the next query opens a new one. Unhandled, it would end the process.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Runs `fn` in one transaction on one client. With a fence, the transaction first takes a
 * KEY SHARE lock on the lease row and checks its epoch: a takeover (which locks the row FOR
 * UPDATE) waits for this transaction to end, so once a new epoch is granted no transaction of an
 * older one can still commit. Rejects with E_FENCED, writing nothing, when the epoch is stale.
 */
export async function inTransaction<T>(pool: pg.Pool, fence: number | null, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      if (fence !== null) {
        const { rows } = await client.query<{ epoch: number }>("SELECT epoch FROM leader_lease WHERE name = 'leader' FOR KEY SHARE");
        const current = rows[0]?.epoch ?? 0;
        if (current !== fence) throw fencedError(fence, current);
      }
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
        broken = rollbackErr as Error;
      });
      throw err;
    }
  } catch (err) {
    broken ??= isConnectionError(err) ? (err as Error) : undefined;
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Errors after which a client must not go back to the pool: its session is gone. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (
    typeof code === 'string' &&
    (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'EPIPE')
  )
    return true;
  return /Connection terminated|connection is closed|Client has encountered a connection error/i.test(String((err as Error | null)?.message));
}
