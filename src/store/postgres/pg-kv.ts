import { fromKvRow, wrongType, type KvRow } from '../kv-table.js';
import type { KeyedArtifact, KvEntry } from '../store.js';
import type { Queryable } from './pg-jobs.js';

interface ArtifactRow {
  key: string;
  hash: string;
  size: number;
  published_at: number;
  job_id: string | null;
}

const ARTIFACT_SELECT = 'SELECT key, hash, size, published_at, job_id FROM keyed_artifacts';
// Keys are "C"-collated: `key >= prefix` walks the primary key from the prefix on, in byte order.
const PREFIXED = 'key >= $1 AND starts_with(key, $1)';

function fromArtifactRow(row: ArtifactRow): KeyedArtifact {
  return { key: row.key, hash: row.hash, size: row.size, publishedAt: row.published_at, jobId: row.job_id };
}

function expired(row: KvRow, now: number): boolean {
  return row.expires_at !== null && row.expires_at <= now;
}

/** The key's entry unless expired; an expired row is deleted on the way (tidying, so not fenced). */
export async function kvGet(db: Queryable, key: string, now: number): Promise<KvEntry | undefined> {
  const { rows } = await db.query<KvRow>('SELECT kind, value, expires_at FROM kv WHERE key = $1', [key]);
  const row = rows[0];
  if (row === undefined) return undefined;
  if (expired(row, now)) {
    await db.query('DELETE FROM kv WHERE key = $1 AND expires_at <= $2', [key, now]);
    return undefined;
  }
  return fromKvRow(key, row);
}

/** Inside a transaction: the row locked, so the check and the write see the same value. */
async function lockedLive(client: Queryable, key: string, now: number): Promise<{ entry: KvEntry | undefined; row: KvRow | undefined }> {
  const { rows } = await client.query<KvRow>('SELECT kind, value, expires_at FROM kv WHERE key = $1 FOR UPDATE', [key]);
  const row = rows[0];
  if (row === undefined || expired(row, now)) return { entry: undefined, row: undefined };
  return { entry: fromKvRow(key, row), row };
}

async function upsertKey(client: Queryable, key: string, kind: 'string' | 'set', value: string, expiresAt: number | null, now: number): Promise<void> {
  await client.query('DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= $1 AND key <> $2', [now, key]);
  await client.query(
    `INSERT INTO kv (key, kind, value, expires_at, updated_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, value = excluded.value, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
    [key, kind, value, expiresAt, now],
  );
}

export async function kvPut(client: Queryable, key: string, value: string, ttlMs: number | null, now: number): Promise<void> {
  const { entry } = await lockedLive(client, key, now);
  if (entry?.kind === 'set') throw wrongType(key, 'set');
  await upsertKey(client, key, 'string', value, ttlMs === null ? null : now + ttlMs, now);
}

export async function kvSadd(client: Queryable, key: string, members: readonly string[], ttlMs: number | null, now: number): Promise<number> {
  const { entry, row } = await lockedLive(client, key, now);
  if (entry?.kind === 'string') throw wrongType(key, 'string');
  const set = new Set(entry?.value ?? []);
  const before = set.size;
  for (const m of members) set.add(m);
  const added = set.size - before;
  const expiresAt = ttlMs !== null ? now + ttlMs : (row?.expires_at ?? null);
  if (added > 0 || entry === undefined || ttlMs !== null) await upsertKey(client, key, 'set', JSON.stringify([...set]), expiresAt, now);
  return added;
}

export async function kvDelete(client: Queryable, key: string): Promise<boolean> {
  const { rowCount } = await client.query('DELETE FROM kv WHERE key = $1', [key]);
  return (rowCount ?? 0) > 0;
}

export async function kvKeys(db: Queryable, prefix: string, limit: number, now: number): Promise<string[]> {
  if (limit <= 0) return [];
  const { rows } = await db.query<{ key: string }>(`SELECT key FROM kv WHERE ${PREFIXED} AND (expires_at IS NULL OR expires_at > $2) ORDER BY key LIMIT $3`, [
    prefix,
    now,
    limit,
  ]);
  return rows.map((r) => r.key);
}

export async function publishArtifact(client: Queryable, key: string, hash: string, size: number, jobId: string | null, now: number): Promise<KeyedArtifact> {
  const row: ArtifactRow = { key, hash, size, published_at: now, job_id: jobId };
  await client.query(
    `INSERT INTO keyed_artifacts (key, hash, size, published_at, job_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (key) DO UPDATE SET hash = excluded.hash, size = excluded.size, published_at = excluded.published_at, job_id = excluded.job_id`,
    [row.key, row.hash, row.size, row.published_at, row.job_id],
  );
  return fromArtifactRow(row);
}

export async function keyedArtifacts(db: Queryable, prefix: string, limit: number): Promise<KeyedArtifact[]> {
  if (limit <= 0) return [];
  const { rows } = await db.query<ArtifactRow>(`${ARTIFACT_SELECT} WHERE ${PREFIXED} ORDER BY key LIMIT $2`, [prefix, limit]);
  return rows.map(fromArtifactRow);
}

export async function keyedArtifact(db: Queryable, key: string): Promise<KeyedArtifact | undefined> {
  const { rows } = await db.query<ArtifactRow>(`${ARTIFACT_SELECT} WHERE key = $1`, [key]);
  return rows[0] === undefined ? undefined : fromArtifactRow(rows[0]);
}

/** Published under a key of the namespace, or named by one of its jobs (as a script or a bundle). */
export async function artifactReachable(db: Queryable, hash: string, idPrefix: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM keyed_artifacts WHERE key >= $1 AND starts_with(key, $1) AND hash = $2
     UNION ALL
     SELECT 1 FROM jobs WHERE id >= $1 AND starts_with(id, $1) AND strpos(spec, $3) > 0
     LIMIT 1`,
    [idPrefix, hash, `"${hash}"`],
  );
  return rows.length > 0;
}

/**
 * Whether anything still names `hash`: a key, a job of any state (its script or bundle), or a
 * schedule's payload. The key and job lookups use the indexes of migration 2; schedules are few.
 */
export async function artifactInUse(db: Queryable, hash: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM keyed_artifacts WHERE hash = $1
     UNION ALL
     SELECT 1 FROM jobs WHERE (spec::jsonb #>> '{run,artifact}') = $1
     UNION ALL
     SELECT 1 FROM jobs WHERE (spec::jsonb ->> 'bundle') = $1
     UNION ALL
     SELECT 1 FROM schedules WHERE strpos(payload, $2) > 0
     LIMIT 1`,
    [hash, `"${hash}"`],
  );
  return rows.length > 0;
}
