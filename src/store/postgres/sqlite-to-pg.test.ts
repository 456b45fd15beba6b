import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Job } from '../../core/job.js';
import { DataDirLock } from '../data-dir-lock.js';
import { SqliteStore } from '../sqlite-store.js';
import { PostgresStore } from './pg-store.js';
import { connectTestAdmin, TEST_PG_URL, TestSchemas } from './pg-test-schema.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const admin = await connectTestAdmin();
const schemas = new TestSchemas(admin);
const root = await mkdtemp(join(tmpdir(), 'titan-store-migrate-'));
after(async () => {
  await schemas.dropAll();
  await admin.end();
  await rm(root, { recursive: true, force: true });
});

function job(id: string, seq: number, over: Partial<Job> = {}): Job {
  return {
    id,
    seq,
    state: 'succeeded',
    attempt: 1,
    workerId: 'w1',
    submittedAt: 100,
    startedAt: 110,
    finishedAt: 120,
    exitCode: 0,
    signal: null,
    reason: null,
    notBefore: null,
    pinnedWorker: null,
    crashes: 0,
    attemptBase: 0,
    serviceReady: false,
    spec: { name: id, run: { kind: 'command', command: 'echo é' }, args: [], env: {}, requirement: ['GENERAL'], priority: 0, retries: 0, timeoutSeconds: 0 },
    ...over,
  };
}

/** A data dir as a SQLite master leaves it: every kind of row, and one artifact file. */
function makeDataDir(name: string): { dir: string; artifact: Buffer } {
  const dir = join(root, name);
  const store = SqliteStore.open(join(dir, 'titan.db'));
  const svc = job('svc', 2, { state: 'running', serviceReady: true, finishedAt: null, exitCode: null, spec: { ...job('svc', 2).spec, dagId: 'd1' } });
  store.writeJobs(
    [
      { job: job('a', 1), event: { jobId: 'a', at: 100, from: null, to: 'queued', attempt: 0, workerId: null, detail: null } },
      { job: job('a', 1), event: { jobId: 'a', at: 120, from: 'running', to: 'succeeded', attempt: 1, workerId: 'w1', detail: 'exit 0' } },
      { job: svc, event: { jobId: 'svc', at: 100, from: null, to: 'running', attempt: 1, workerId: 'w1', detail: null } },
    ],
    [{ id: 'd1', seq: 1, name: 'etl', state: 'running', createdAt: 100, finishedAt: null, total: 1, unfinished: 1, failed: 0 }],
    [
      {
        id: 's1',
        name: 'nightly',
        cron: '0 3 * * *',
        tz: 'Europe/Paris',
        overlap: 'skip',
        misfire: 'run_once',
        paused: true,
        payload: '{}',
        lastDueAt: 5,
        lastDagId: 'd1',
        createdAt: 1,
        resumedAt: null,
      },
    ],
  );
  store.appendLogs([
    { jobId: 'a', attempt: 1, stream: 'stdout', at: 115, line: 'hello' },
    { jobId: 'a', attempt: 1, stream: 'stderr', at: 116, line: 'warn' },
  ]);
  store.kvPut('greeting', 'hi', null, 100);
  store.kvSadd('tags', ['x', 'y'], null, 100);
  store.publishArtifact('model/latest', 'b'.repeat(64), 3, 'a', 100);
  store.setMeta('cluster-id', 'c-1');
  store.close();
  const db = new Database(join(dir, 'titan.db'));
  db.prepare(
    "INSERT INTO api_tokens (id, name, role, namespace, hash, created_at, expires_at) VALUES ('abc123abc123', 'ci', 'operator', NULL, ?, 100, NULL)",
  ).run('f'.repeat(64));
  db.prepare(
    "INSERT INTO audit_log (at, who, role, action, target, source, result, prev_hash, hash) VALUES (100, 'ci', 'operator', 'job.submit', 'a', 'tcp', 'ok', '', 'h1')",
  ).run();
  db.close();
  const artifact = Buffer.from('print("hi")\n');
  mkdirSync(join(dir, 'artifacts'), { recursive: true });
  writeFileSync(join(dir, 'artifacts', createHash('sha256').update(artifact).digest('hex')), artifact);
  return { dir, artifact };
}

function migrate(dir: string, schema: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [MAIN, 'store', 'migrate', '--from', dir, '--to', TEST_PG_URL, '--schema', schema, '--json'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

void describe('titan store migrate', () => {
  void test('copies every row and artifact of a SQLite data dir into PostgreSQL, and the counters continue after them', async (t) => {
    const { dir, artifact } = makeDataDir('full');
    const schema = await schemas.create('migrate');
    const run = migrate(dir, schema);
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as Record<string, number>;
    assert.deepEqual(
      {
        jobs: report.jobs,
        job_events: report.job_events,
        job_log_chunks: report.job_log_chunks,
        dags: report.dags,
        kv: report.kv,
        keyed_artifacts: report.keyed_artifacts,
        schedules: report.schedules,
        api_tokens: report.api_tokens,
        audit_log: report.audit_log,
        artifact_blobs: report.artifact_blobs,
      },
      { jobs: 2, job_events: 3, job_log_chunks: 2, dags: 1, kv: 2, keyed_artifacts: 1, schedules: 1, api_tokens: 1, audit_log: 1, artifact_blobs: 1 },
    );

    const sqlite = SqliteStore.open(join(dir, 'titan.db'));
    const pg = await PostgresStore.open(TEST_PG_URL, { schema, max: 2 });
    t.after(async () => {
      sqlite.close();
      await pg.close();
    });
    for (const id of ['a', 'svc']) {
      assert.deepEqual(await pg.getJob(id), sqlite.getJob(id));
      assert.deepEqual(await pg.jobEvents(id), sqlite.jobEvents(id));
    }
    assert.deepEqual(await pg.readLogs('a', 0, 10), sqlite.readLogs('a', 0, 10));
    assert.deepEqual(await pg.getDag('d1'), sqlite.getDag('d1'));
    assert.deepEqual(await pg.listSchedules(), sqlite.listSchedules());
    assert.deepEqual(await pg.kvSmembers('tags', 200), ['x', 'y']);
    assert.deepEqual(await pg.getKeyedArtifact('model/latest'), sqlite.getKeyedArtifact('model/latest'));
    assert.equal(await pg.getMeta('cluster-id'), 'c-1');
    assert.deepEqual(await pg.blobs.get(createHash('sha256').update(artifact).digest('hex')), artifact);
    const token = await pg.pool.query<{ name: string; role: string }>('SELECT name, role FROM api_tokens');
    assert.deepEqual(token.rows, [{ name: 'ci', role: 'operator' }]);

    const lastSeq = sqlite.readLogs('a', 0, 10).at(-1)!.seq;
    await pg.appendLogs([{ jobId: 'a', attempt: 2, stream: 'stdout', at: 200, line: 'after the move' }]);
    assert.ok((await pg.readLogs('a', lastSeq, 10))[0]!.seq > lastSeq, 'log seqs continue after the copied ones');
    await pg.commitTick({
      writes: [{ job: job('a', 1), event: { jobId: 'a', at: 300, from: 'succeeded', to: 'succeeded', attempt: 1, workerId: null, detail: 'after' } }],
    });
    assert.equal((await pg.jobEvents('a')).at(-1)?.detail, 'after', 'new events sort after the copied ones');
    const audit = await pg.pool.query(
      "INSERT INTO audit_log (at, who, role, action, target, source, result, prev_hash, hash) VALUES (200, 'x', 'admin', 'a', 't', 's', 'ok', 'h1', 'h2') RETURNING seq",
    );
    assert.equal(audit.rows[0].seq, 2, 'the ledger continues after its copied rows');
  });

  void test('refuses a target that already holds data, and a data dir whose master is running', async () => {
    const { dir } = makeDataDir('twice');
    const schema = await schemas.create('twice');
    assert.equal(migrate(dir, schema).status, 0);
    const again = migrate(dir, schema);
    assert.notEqual(again.status, 0);
    assert.match(again.stdout + again.stderr, /already holds data \(table jobs\); migrate into an empty database or schema/);

    const held = DataDirLock.acquire(makeDataDir('busy').dir);
    try {
      const busy = migrate(join(root, 'busy'), await schemas.create('busy'));
      assert.notEqual(busy.status, 0);
      assert.match(busy.stdout + busy.stderr, /in use by another master \(pid \d+\)/);
    } finally {
      held.release();
    }
  });
});
