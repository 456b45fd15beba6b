import { isAbsolute, join, resolve } from 'node:path';
import { ErrorCode, TitanError } from '../common/errors.js';
import { SCHEMA_PATTERN } from '../store/postgres/schema-name.js';

/** Where a master keeps its state: one SQLite file (the default) or a PostgreSQL database shared by several masters. */
export type StoreTarget = { readonly kind: 'sqlite'; readonly file: string } | { readonly kind: 'postgres'; readonly url: string; readonly schema?: string };

const POSTGRES_URL = /^postgres(ql)?:\/\//;

/**
 * `--store`, then TITAN_STORE: a postgres:// URL, a SQLite file path, or nothing (the data dir's
 * titan.db). `--store-schema` (TITAN_STORE_SCHEMA) names the PostgreSQL schema.
 */
export function storeTarget(flags: { store?: string; storeSchema?: string }, dataDir: string, env: NodeJS.ProcessEnv = process.env): StoreTarget {
  const given = flags.store ?? env.TITAN_STORE;
  const schema = flags.storeSchema ?? env.TITAN_STORE_SCHEMA;
  if (given === undefined || given === '' || !POSTGRES_URL.test(given)) {
    if (schema !== undefined)
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        `--store-schema ${schema} is for a PostgreSQL store; give --store postgres://user@host:5432/db with it, or drop it`,
      );
    if (given !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(given))
      throw new TitanError(ErrorCode.INVALID_REQUEST, `--store takes a postgres:// URL or a SQLite file path, not ${redacted(given)}`);
    return { kind: 'sqlite', file: given === undefined || given === '' ? join(dataDir, 'titan.db') : isAbsolute(given) ? given : resolve(given) };
  }
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `--store ${redacted(given)} is not a valid URL; write it as postgres://user@host:5432/db`);
  }
  if (url.pathname.length <= 1)
    throw new TitanError(ErrorCode.INVALID_REQUEST, `--store ${redacted(given)} names no database; write it as postgres://user@host:5432/db`);
  if (schema !== undefined && !SCHEMA_PATTERN.test(schema))
    throw new TitanError(ErrorCode.INVALID_REQUEST, `--store-schema ${JSON.stringify(schema)} must be lowercase letters, digits and underscores`);
  return { kind: 'postgres', url: given, ...(schema !== undefined ? { schema } : {}) };
}

/** A URL as it may be shown in an error or a log: without its password. */
export function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:\/\/([^:@/]*):[^@/]*@/, '://$1:***@');
  }
}
