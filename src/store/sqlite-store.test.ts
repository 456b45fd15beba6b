import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { Job } from '../core/job.js';
import { MIGRATIONS, migrate, schemaVersion, type Migration } from './migrations.js';
import { SELECT_ACTIVE_JOBS, SqliteStore } from './sqlite-store.js';
import { runStoreConformance } from './store-conformance.js';
import { runAdmissionConformance } from './admission-conformance.js';
import { runScheduleConformance } from './schedule-conformance.js';
import { runKvConformance } from './kv-conformance.js';
import { runLogConformance } from './log-conformance.js';
import { runPruneConformance } from './prune-conformance.js';
import { LEADER_EPOCH_META, SqliteAsyncStore } from './sqlite-async-store.js';

const dir = await mkdtemp(join(tmpdir(), 'titan-store-'));
after(() => rm(dir, { recursive: true, force: true }));
let files = 0;
const newPath = (): string => join(dir, `store-${++files}.db`);

// The conformance suites speak the async contract: the SQLite store runs them through its adapter.
const openAsync = (path: string): Promise<SqliteAsyncStore> => Promise.resolve(new SqliteAsyncStore(SqliteStore.open(path)));
const reopenAsync = (closed: SqliteAsyncStore): Promise<SqliteAsyncStore> => openAsync(closed.sync.path);
/** In the embedded store the epoch is a meta row; another leader taking over moves it up. */
const depose = async (store: SqliteAsyncStore): Promise<void> => store.sync.setMeta(LEADER_EPOCH_META, String((await store.leaderEpoch()) + 1));
runStoreConformance('sqlite', () => openAsync(newPath()), reopenAsync, depose);
runKvConformance('sqlite', () => openAsync(newPath()), reopenAsync);
runLogConformance('sqlite', () => openAsync(newPath()), reopenAsync);
runScheduleConformance('sqlite', () => openAsync(newPath()), reopenAsync);
runPruneConformance('sqlite', () => openAsync(newPath()));
runAdmissionConformance('sqlite', () => openAsync(newPath()), reopenAsync);

/** Runs `fn` on the file through a plain connection, as a second tool on the machine would. */
function withRaw<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const JOB: Job = {
  id: 'a',
  seq: 1,
  state: 'queued',
  attempt: 0,
  workerId: null,
  submittedAt: 100,
  startedAt: null,
  finishedAt: null,
  exitCode: null,
  signal: null,
  reason: null,
  notBefore: null,
  pinnedWorker: null,
  crashes: 0,
  attemptBase: 0,
  serviceReady: false,
  spec: { name: 'a', run: { kind: 'command', command: 'true' }, args: [], env: {}, requirement: ['GENERAL'], priority: 0, retries: 0, timeoutSeconds: 0 },
};
const SUBMIT = { job: JOB, event: { jobId: 'a', at: 100, from: null, to: 'queued' as const, attempt: 0, workerId: null, detail: null } };

// node:test's describe() and test() return promises its runner awaits; `void` tells the linter.
void describe('sqlite store file', () => {
  void test('an empty file is migrated to the latest schema, in WAL mode', () => {
    const path = newPath();
    writeFileSync(path, '');
    SqliteStore.open(path).close();
    withRaw(path, (db) => {
      assert.equal(schemaVersion(db), MIGRATIONS.length);
      const tables = db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
      for (const table of ['job_events', 'job_log_chunks', 'jobs', 'meta']) assert.ok(tables.includes(table), `${table} exists`);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    });
  });

  void test('a chatty job takes a row per 64 KiB of output, not a row per line', () => {
    const path = newPath();
    const store = SqliteStore.open(path);
    const line = 'y'.repeat(99);
    for (let batch = 0; batch < 40; batch++) {
      store.appendLogs(Array.from({ length: 256 }, () => ({ jobId: 'chatty', attempt: 1, stream: 'stdout' as const, at: 1, line })));
    }
    store.close();
    // 10,240 lines of 100 bytes in 40 batches of 25 KB: a row per batch.
    const rows = withRaw(path, (db) => db.prepare<[], number>('SELECT COUNT(*) FROM job_log_chunks').pluck().get());
    assert.equal(rows, 40);
  });

  void test('lines stored a row each (schema 7) keep their seqs as chunks', () => {
    const path = newPath();
    withRaw(path, (db) => {
      migrate(db, path, MIGRATIONS.slice(0, 7));
      const insert = db.prepare('INSERT INTO job_logs (job_id, attempt, stream, at, line) VALUES (?, 1, ?, 5, ?)');
      insert.run('a', 'stdout', 'one');
      insert.run('b', 'stdout', 'other');
      insert.run('a', 'stderr', 'two');
    });
    const store = SqliteStore.open(path);
    try {
      assert.deepEqual(
        store.readLogs('a', 0, 10).map((l) => [l.seq, l.stream, l.line]),
        [
          [1, 'stdout', 'one'],
          [3, 'stderr', 'two'],
        ],
      );
      store.appendLogs([{ jobId: 'a', attempt: 2, stream: 'stdout', at: 6, line: 'three' }]);
      assert.deepEqual(
        store.readLogs('a', 3, 10).map((l) => [l.seq, l.line]),
        [[4, 'three']],
      );
    } finally {
      store.close();
    }
  });

  void test('commits only append to the WAL; a thread of its own folds it into the file', async () => {
    const path = newPath();
    const store = SqliteStore.open(path);
    try {
      const before = statSync(path).size;
      const big = { ...JOB.spec, env: { PAYLOAD: 'x'.repeat(4000) } };
      for (let i = 0; i < 1200; i++) {
        const job = { ...JOB, id: `w${i}`, seq: i + 1, spec: big };
        store.writeJobs([{ job, event: { ...SUBMIT.event, jobId: job.id } }]);
      }
      // Past SQLite's own threshold (1,000 pages): its checkpoint would have run inside a commit by now.
      assert.ok(statSync(`${path}-wal`).size > 4_500_000, 'the commits are in the WAL');
      assert.equal(statSync(path).size, before, 'no commit checkpointed into the file');
      const deadline = Date.now() + 10_000;
      while (statSync(path).size === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(statSync(path).size > before + 1_000_000, 'the checkpointer thread copied the WAL into the file');
    } finally {
      store.close();
    }
    const reopened = SqliteStore.open(path);
    assert.equal(reopened.loadActiveJobs().length, 1200, 'and everything reads back after a reopen');
    reopened.close();
  });

  void test('a missing file is created, parent directories included', () => {
    const path = join(dir, 'nested', 'deeper', 'titan.db');
    const store = SqliteStore.open(path);
    store.close();
    assert.ok(existsSync(path));
  });

  void test('reopening an existing file keeps its data and its schema version', (t) => {
    const path = newPath();
    const store = SqliteStore.open(path);
    store.writeJobs([SUBMIT]);
    store.setMeta('k', 'v');
    store.close();
    const again = SqliteStore.open(path);
    t.after(() => again.close());
    assert.deepEqual(again.getJob('a'), JOB);
    assert.equal(again.getMeta('k'), 'v');
    again.close();
    assert.equal(withRaw(path, schemaVersion), MIGRATIONS.length);
  });

  void test('a file written by a newer Titan is refused with a message naming the fix', () => {
    const path = newPath();
    withRaw(path, (db) => db.pragma('user_version = 999'));
    assert.throws(
      () => SqliteStore.open(path),
      (err: unknown) => {
        assert.ok(err instanceof TitanError);
        assert.equal(err.code, ErrorCode.UNKNOWN_VERSION);
        assert.match(err.message, /newer version of Titan \(schema version 999; this version knows up to \d+\)/);
        assert.match(err.message, /Upgrade Titan/);
        assert.ok(err.message.includes(path), 'the message names the file');
        return true;
      },
    );
    assert.equal(withRaw(path, schemaVersion), 999, 'the file is left as it was');
  });

  void test('an in-memory store works for tests', (t) => {
    const store = SqliteStore.open(':memory:');
    t.after(() => store.close());
    store.writeJobs([SUBMIT]);
    assert.deepEqual(store.loadActiveJobs(), [JOB]);
  });

  void test('active jobs are read through the state index', () => {
    const store = SqliteStore.open(newPath());
    store.close();
    const plan = withRaw(store.path, (db) =>
      db
        .prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${SELECT_ACTIVE_JOBS}`)
        .all()
        .map((r) => r.detail)
        .join('\n'),
    );
    assert.match(plan, /USING INDEX jobs_state/);
  });

  void test('a corrupt spec fails with an error naming the job', (t) => {
    const store = SqliteStore.open(newPath());
    t.after(() => store.close());
    store.writeJobs([SUBMIT]);
    withRaw(store.path, (db) => db.prepare("UPDATE jobs SET spec = '{\"name\": ' WHERE id = 'a'").run());
    assert.throws(() => store.getJob('a'), /store is corrupt: job "a" has a spec that is not valid JSON/);
    withRaw(store.path, (db) => db.prepare("UPDATE jobs SET spec = '[1]' WHERE id = 'a'").run());
    assert.throws(() => store.loadActiveJobs(), /job "a" has a spec that is not a job spec/);
  });
});

void describe('migrations', () => {
  const createT: Migration = { version: 1, description: 't', up: (db) => db.exec('CREATE TABLE t (a INTEGER)') };
  const addColumn: Migration = { version: 2, description: 't.b', up: (db) => db.exec('ALTER TABLE t ADD COLUMN b TEXT') };

  void test('are numbered 1, 2, 3… with no gap', () => {
    MIGRATIONS.forEach((m, i) => assert.equal(m.version, i + 1, m.description));
    withRaw(':memory:', (db) => assert.throws(() => migrate(db, 'x', [addColumn]), /migration 1 is numbered 2/));
  });

  void test('only the migrations above the file version run', () => {
    const path = newPath();
    withRaw(path, (db) => migrate(db, path, [createT]));
    // createT would fail if it ran again: table t already exists.
    withRaw(path, (db) => {
      migrate(db, path, [createT, addColumn]);
      assert.equal(schemaVersion(db), 2);
      db.prepare("INSERT INTO t (a, b) VALUES (1, 'x')").run();
    });
  });

  void test('a migration that fails leaves the file at the version before it', () => {
    const path = newPath();
    const broken: Migration = {
      version: 2,
      description: 'fails halfway',
      up: (db) => {
        db.exec('CREATE TABLE half (a INTEGER)');
        throw new Error('boom');
      },
    };
    withRaw(path, (db) => {
      assert.throws(() => migrate(db, path, [createT, broken]), /boom/);
      assert.equal(schemaVersion(db), 1);
      const half = db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get();
      assert.equal(half, undefined, 'the failed step is rolled back');
    });
  });
});
