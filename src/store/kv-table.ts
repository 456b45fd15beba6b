import type { Database, Statement } from 'better-sqlite3';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { KeyedArtifact, KvEntry } from './store.js';

export interface KvRow {
  kind: string;
  value: string;
  expires_at: number | null;
}

interface ArtifactRow {
  key: string;
  hash: string;
  size: number;
  published_at: number;
  job_id: string | null;
}

export function fromKvRow(key: string, row: KvRow): KvEntry {
  if (row.kind === 'string') return { kind: 'string', value: row.value };
  if (row.kind === 'set') {
    const members: unknown = JSON.parse(row.value);
    if (Array.isArray(members) && members.every((m) => typeof m === 'string')) return { kind: 'set', value: members };
    throw new TitanError(ErrorCode.INTERNAL, `store is corrupt: set ${JSON.stringify(key)} is not a JSON array of strings`);
  }
  throw new TitanError(ErrorCode.INTERNAL, `store is corrupt: key ${JSON.stringify(key)} has an unknown kind "${row.kind}"`);
}

function fromArtifactRow(row: ArtifactRow): KeyedArtifact {
  return { key: row.key, hash: row.hash, size: row.size, publishedAt: row.published_at, jobId: row.job_id };
}

/** The Redis-style refusal when a key is used as the other kind, naming the command that fits. */
export function wrongType(key: string, holds: 'string' | 'set'): TitanError {
  const quoted = JSON.stringify(key);
  const fix = holds === 'set' ? `read it with smembers (\`titan kv smembers ${quoted}\`)` : `read it with get (\`titan kv get ${quoted}\`)`;
  return new TitanError(
    ErrorCode.INVALID_REQUEST,
    `WRONGTYPE: key ${quoted} holds a ${holds}, not a ${holds === 'set' ? 'string' : 'set'}; ${fix}, or delete it first (\`titan kv del ${quoted}\`)`,
  );
}

/**
 * The smallest string above every string that starts with prefix (null when none is), so a
 * prefix scan is a range on the primary key. BINARY collation compares UTF-8 bytes, which
 * orders like code points.
 */
function prefixEnd(prefix: string): string | null {
  const points = [...prefix];
  while (points.length > 0) {
    const last = points.pop()?.codePointAt(0) ?? 0x10ffff;
    if (last < 0x10ffff) return points.join('') + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
  }
  return null;
}

/**
 * The `kv` and `keyed_artifacts` tables: data jobs of a DAG and clients pass to each other.
 * Expired keys are absent to readers; a read deletes the one it met, and each write sweeps the rest.
 */
export class KvTable {
  private readonly selectKey: Statement<[string], KvRow>;
  private readonly upsertKey: Statement<[{ key: string; kind: string; value: string; expires_at: number | null; updated_at: number }]>;
  private readonly deleteKey: Statement<[string]>;
  private readonly sweepExpired: Statement<[number]>;
  private readonly upsertArtifact: Statement<[ArtifactRow]>;
  private readonly selectArtifact: Statement<[string], ArtifactRow>;
  private readonly selectAllArtifacts: Statement<[number], ArtifactRow>;
  private readonly selectArtifactsFrom: Statement<[string, number], ArtifactRow>;
  private readonly selectArtifactsBetween: Statement<[string, string, number], ArtifactRow>;
  private readonly selectKeysBetween: Statement<[string, string, number, number], { key: string }>;
  private readonly selectKeysFrom: Statement<[string, number, number], { key: string }>;
  readonly get: (key: string, now: number) => KvEntry | undefined;
  readonly put: (key: string, value: string, ttlMs: number | null, now: number) => void;
  readonly sadd: (key: string, members: readonly string[], ttlMs: number | null, now: number) => number;

  constructor(db: Database) {
    this.selectKey = db.prepare('SELECT kind, value, expires_at FROM kv WHERE key = ?');
    this.upsertKey = db.prepare(
      `INSERT INTO kv (key, kind, value, expires_at, updated_at) VALUES (@key, @kind, @value, @expires_at, @updated_at)
       ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, value = excluded.value,
         expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
    );
    this.deleteKey = db.prepare('DELETE FROM kv WHERE key = ?');
    this.sweepExpired = db.prepare('DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?');
    this.upsertArtifact = db.prepare(
      `INSERT INTO keyed_artifacts (key, hash, size, published_at, job_id) VALUES (@key, @hash, @size, @published_at, @job_id)
       ON CONFLICT (key) DO UPDATE SET hash = excluded.hash, size = excluded.size,
         published_at = excluded.published_at, job_id = excluded.job_id`,
    );
    const artifactColumns = 'SELECT key, hash, size, published_at, job_id FROM keyed_artifacts';
    this.selectArtifact = db.prepare(`${artifactColumns} WHERE key = ?`);
    this.selectAllArtifacts = db.prepare(`${artifactColumns} ORDER BY key LIMIT ?`);
    this.selectArtifactsFrom = db.prepare(`${artifactColumns} WHERE key >= ? ORDER BY key LIMIT ?`);
    this.selectArtifactsBetween = db.prepare(`${artifactColumns} WHERE key >= ? AND key < ? ORDER BY key LIMIT ?`);

    const liveKey = 'SELECT key FROM kv WHERE (expires_at IS NULL OR expires_at > ?)';
    this.selectKeysBetween = db.prepare(`${liveKey.replace('WHERE', 'WHERE key >= ? AND key < ? AND')} ORDER BY key LIMIT ?`);
    this.selectKeysFrom = db.prepare(`${liveKey.replace('WHERE', 'WHERE key >= ? AND')} ORDER BY key LIMIT ?`);

    this.get = db.transaction((key: string, now: number) => this.live(key, now));
    this.put = db.transaction((key: string, value: string, ttlMs: number | null, now: number) => {
      const current = this.live(key, now);
      if (current?.kind === 'set') throw wrongType(key, 'set');
      this.sweepExpired.run(now);
      this.upsertKey.run({ key, kind: 'string', value, expires_at: ttlMs === null ? null : now + ttlMs, updated_at: now });
    });
    this.sadd = db.transaction((key: string, members: readonly string[], ttlMs: number | null, now: number) => {
      const row = this.selectKey.get(key);
      const current = row !== undefined && !expired(row, now) ? fromKvRow(key, row) : undefined;
      if (current?.kind === 'string') throw wrongType(key, 'string');
      this.sweepExpired.run(now);
      const set = new Set(current?.value ?? []);
      const before = set.size;
      for (const m of members) set.add(m);
      const added = set.size - before;
      const expiresAt = ttlMs !== null ? now + ttlMs : current !== undefined ? (row?.expires_at ?? null) : null;
      if (added > 0 || current === undefined || ttlMs !== null) {
        this.upsertKey.run({ key, kind: 'set', value: JSON.stringify([...set]), expires_at: expiresAt, updated_at: now });
      }
      return added;
    });
  }

  delete(key: string): boolean {
    return this.deleteKey.run(key).changes > 0;
  }

  smembers(key: string, now: number): string[] {
    const entry = this.get(key, now);
    if (entry?.kind === 'string') throw wrongType(key, 'string');
    return entry?.value ?? [];
  }

  /** Live keys that start with prefix, in key order, at most limit. */
  keys(prefix: string, limit: number, now: number): string[] {
    if (limit <= 0) return [];
    const end = prefixEnd(prefix);
    const rows = end === null ? this.selectKeysFrom.all(prefix, now, limit) : this.selectKeysBetween.all(prefix, end, now, limit);
    return rows.map((r) => r.key);
  }

  publish(key: string, hash: string, size: number, jobId: string | null, now: number): KeyedArtifact {
    const row: ArtifactRow = { key, hash, size, published_at: now, job_id: jobId };
    this.upsertArtifact.run(row);
    return fromArtifactRow(row);
  }

  artifact(key: string): KeyedArtifact | undefined {
    const row = this.selectArtifact.get(key);
    return row === undefined ? undefined : fromArtifactRow(row);
  }

  artifacts(prefix: string, limit: number): KeyedArtifact[] {
    if (limit <= 0) return [];
    const end = prefixEnd(prefix);
    const rows =
      prefix === ''
        ? this.selectAllArtifacts.all(limit)
        : end === null
          ? this.selectArtifactsFrom.all(prefix, limit)
          : this.selectArtifactsBetween.all(prefix, end, limit);
    return rows.map(fromArtifactRow);
  }

  /** The key's entry unless it has expired, in which case its row is deleted. Call inside a transaction. */
  private live(key: string, now: number): KvEntry | undefined {
    const row = this.selectKey.get(key);
    if (row === undefined) return undefined;
    if (expired(row, now)) {
      this.deleteKey.run(key);
      return undefined;
    }
    return fromKvRow(key, row);
  }
}

function expired(row: KvRow, now: number): boolean {
  return row.expires_at !== null && row.expires_at <= now;
}
