import type { Database } from 'better-sqlite3';
import { ErrorCode, TitanError } from '../common/errors.js';

/** One schema step. Versions run 1, 2, 3…: only ever appended, never edited once released. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly up: (db: Database) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'jobs, job events, job logs and meta',
    up: (db) => {
      db.exec(`
        CREATE TABLE jobs (
          id           TEXT PRIMARY KEY,
          seq          INTEGER NOT NULL,
          state        TEXT NOT NULL,
          attempt      INTEGER NOT NULL,
          worker_id    TEXT,
          submitted_at INTEGER NOT NULL,
          started_at   INTEGER,
          finished_at  INTEGER,
          exit_code    INTEGER,
          signal       TEXT,
          reason       TEXT,
          spec         TEXT NOT NULL
        );
        -- Unique: seq is the submission order, and two jobs sharing one would make it ambiguous.
        CREATE UNIQUE INDEX jobs_seq ON jobs (seq);
        -- seq rides along so "newest failed jobs" walks the index backwards and stops at the limit.
        CREATE INDEX jobs_state ON jobs (state, seq);

        -- No AUTOINCREMENT: events are only ordered within one job, and the master appends
        -- thousands a second, so the extra sqlite_sequence write per row is not worth paying.
        CREATE TABLE job_events (
          id         INTEGER PRIMARY KEY,
          job_id     TEXT NOT NULL,
          at         INTEGER NOT NULL,
          from_state TEXT,
          to_state   TEXT NOT NULL,
          attempt    INTEGER NOT NULL,
          worker_id  TEXT,
          detail     TEXT
        );
        CREATE INDEX job_events_job ON job_events (job_id);

        -- AUTOINCREMENT: a follower resumes after the last seq it saw, so a seq must never be
        -- handed out twice, even after old lines are pruned.
        CREATE TABLE job_logs (
          seq     INTEGER PRIMARY KEY AUTOINCREMENT,
          job_id  TEXT NOT NULL,
          attempt INTEGER NOT NULL,
          stream  TEXT NOT NULL,
          at      INTEGER NOT NULL,
          line    TEXT NOT NULL
        );
        CREATE INDEX job_logs_job_seq ON job_logs (job_id, seq);

        CREATE TABLE meta (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL
        );
      `);
    },
  },
  {
    version: 2,
    description: 'DAG runs, and the scheduling fields of jobs (delays, affinity, crash count, retry base)',
    up: (db) => {
      db.exec(`
        ALTER TABLE jobs ADD COLUMN dag_id TEXT;
        ALTER TABLE jobs ADD COLUMN not_before INTEGER;
        ALTER TABLE jobs ADD COLUMN pinned_worker TEXT;
        ALTER TABLE jobs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE jobs ADD COLUMN attempt_base INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX jobs_dag ON jobs (dag_id, seq) WHERE dag_id IS NOT NULL;

        CREATE TABLE dags (
          id          TEXT PRIMARY KEY,
          seq         INTEGER NOT NULL,
          name        TEXT NOT NULL,
          state       TEXT NOT NULL,
          created_at  INTEGER NOT NULL,
          finished_at INTEGER,
          total       INTEGER NOT NULL,
          unfinished  INTEGER NOT NULL,
          failed      INTEGER NOT NULL
        );
        CREATE INDEX dags_state ON dags (state, seq);
      `);
    },
  },
  {
    version: 3,
    description: 'a key-value store (strings and sets, optional TTL) and artifacts published under a key',
    up: (db) => {
      db.exec(`
        CREATE TABLE kv (
          key        TEXT PRIMARY KEY,
          kind       TEXT NOT NULL,
          -- A string's value, or a set's members as a JSON array in the order they were added.
          value      TEXT NOT NULL,
          expires_at INTEGER,
          updated_at INTEGER NOT NULL
        );
        -- Partial: most keys never expire, and the sweep only walks those that do.
        CREATE INDEX kv_expires ON kv (expires_at) WHERE expires_at IS NOT NULL;

        CREATE TABLE keyed_artifacts (
          key          TEXT PRIMARY KEY,
          hash         TEXT NOT NULL,
          size         INTEGER NOT NULL,
          published_at INTEGER NOT NULL,
          job_id       TEXT
        );
      `);
    },
  },
  {
    version: 4,
    description: 'services: whether a service has been ready (its children and DAG were released)',
    up: (db) => {
      db.exec('ALTER TABLE jobs ADD COLUMN service_ready INTEGER NOT NULL DEFAULT 0');
    },
  },
  {
    version: 5,
    description: 'cron schedules of DAG runs',
    up: (db) => {
      db.exec(`
        CREATE TABLE schedules (
          id          TEXT PRIMARY KEY,
          name        TEXT NOT NULL,
          cron        TEXT NOT NULL,
          tz          TEXT,
          overlap     TEXT NOT NULL,
          misfire     TEXT NOT NULL,
          paused      INTEGER NOT NULL DEFAULT 0,
          -- What each fire submits: {"name": the DAG name, "jobs": DagJobRequest[]} as the client sent it.
          payload     TEXT NOT NULL,
          -- The due time of the last fire, written in the transaction that creates its DAG, so
          -- a restart never fires one due time twice.
          last_due_at INTEGER,
          last_dag_id TEXT,
          created_at  INTEGER NOT NULL,
          -- Due times before a resume are not owed (they passed while paused).
          resumed_at  INTEGER
        );
      `);
    },
  },
  {
    version: 6,
    description: 'security: API tokens (hashed) and the hash-chained audit ledger (docs/SECURITY.md)',
    up: (db) => {
      db.exec(`
        CREATE TABLE api_tokens (
          id           TEXT PRIMARY KEY,
          name         TEXT NOT NULL,
          role         TEXT NOT NULL,
          namespace    TEXT,
          -- sha256 of the whole token, hex: the token itself is shown once and never stored.
          hash         TEXT NOT NULL,
          created_at   INTEGER NOT NULL,
          revoked_at   INTEGER,
          last_used_at INTEGER
        );
        -- A name picks one live token (for revoke by name); revoked ones keep theirs for the audit trail.
        CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

        -- Append-only: rows are never updated or deleted by Titan. hash = HMAC(key, prev_hash | row).
        CREATE TABLE audit_log (
          seq       INTEGER PRIMARY KEY AUTOINCREMENT,
          at        INTEGER NOT NULL,
          who       TEXT NOT NULL,
          role      TEXT NOT NULL,
          action    TEXT NOT NULL,
          target    TEXT NOT NULL,
          source    TEXT NOT NULL,
          result    TEXT NOT NULL,
          prev_hash TEXT NOT NULL,
          hash      TEXT NOT NULL
        );
      `);
    },
  },
  {
    version: 7,
    description: 'security: API tokens may expire (titan token create --ttl)',
    up: (db) => {
      db.exec('ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER');
    },
  },
  {
    version: 8,
    description: 'job output in chunks of lines (log-chunks.ts) instead of a row per line; indexes for retention',
    up: (db) => {
      // Lines already stored keep their seqs (a follower's cursor stays valid): one chunk each.
      db.exec(`
        CREATE TABLE job_log_chunks (
          first_seq INTEGER PRIMARY KEY,
          last_seq  INTEGER NOT NULL,
          job_id    TEXT NOT NULL,
          attempt   INTEGER NOT NULL,
          stream    INTEGER NOT NULL,
          at        INTEGER NOT NULL,
          bytes     INTEGER NOT NULL,
          body      TEXT NOT NULL
        );
        CREATE INDEX job_log_chunks_job ON job_log_chunks (job_id, last_seq);
        -- Retention (pruner.ts) takes the oldest finished jobs first.
        CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
        CREATE INDEX dags_finished ON dags (finished_at) WHERE finished_at IS NOT NULL;
        INSERT INTO job_log_chunks (first_seq, last_seq, job_id, attempt, stream, at, bytes, body)
          SELECT seq, seq, job_id, attempt, CASE stream WHEN 'stderr' THEN 1 ELSE 0 END, at,
                 length(CAST(line AS BLOB)) + 1, json_array(line)
          FROM job_logs;
        INSERT INTO meta (key, value)
          SELECT 'log_seq_floor', CAST(seq AS TEXT) FROM sqlite_sequence WHERE name = 'job_logs'
          ON CONFLICT (key) DO UPDATE SET value = excluded.value;
        DROP TABLE job_logs;
      `);
    },
  },
  {
    version: 9,
    description: 'indexes that find what names an artifact, so retention can delete the files nothing names',
    up: (db) => {
      // Expression indexes over the spec JSON: a script's artifact and a bundle. artifact-reach.ts
      // queries with exactly these expressions (SQLite matches index expressions by their text).
      // json_valid first: json_extract throws on text that is not JSON, and an index that throws
      // would make a corrupt row unwritable (and this migration fail) instead of reported on read.
      db.exec(`
        CREATE INDEX jobs_script_artifact ON jobs (json_extract(CASE WHEN json_valid(spec) THEN spec END, '$.run.artifact'))
          WHERE json_extract(CASE WHEN json_valid(spec) THEN spec END, '$.run.artifact') IS NOT NULL;
        CREATE INDEX jobs_bundle ON jobs (json_extract(CASE WHEN json_valid(spec) THEN spec END, '$.bundle'))
          WHERE json_extract(CASE WHEN json_valid(spec) THEN spec END, '$.bundle') IS NOT NULL;
        CREATE INDEX keyed_artifacts_hash ON keyed_artifacts (hash);
      `);
    },
  },
];

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the file at `location` up to the last of `migrations`.
 * Effects: each pending migration runs with its `user_version` bump in one transaction, so a
 * crash or a failing step leaves the file at the last version that fully applied.
 * Failure: throws when the file was written by a newer build (it cannot be read safely), or
 * when a migration fails (that migration's changes are rolled back).
 */
export function migrate(db: Database, location: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const latest = migrations.length;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i + 1} is numbered ${m.version}; versions must run 1, 2, 3…`);
  });
  const found = schemaVersion(db);
  if (found > latest) throw newerFileError(location, found, latest);
  for (const m of migrations.slice(found)) {
    // IMMEDIATE takes the write lock before reading user_version again, so two processes
    // opening the same file cannot both apply a step.
    db.transaction(() => {
      if (schemaVersion(db) >= m.version) return;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}

function newerFileError(location: string, found: number, latest: number): TitanError {
  return new TitanError(
    ErrorCode.UNKNOWN_VERSION,
    `${location}: the store was written by a newer version of Titan (schema version ${found}; ` +
      `this version knows up to ${latest}). Upgrade Titan to the version that wrote it, ` +
      `or start this one with a different state directory.`,
  );
}
