import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { Dag } from '../core/dag.js';
import type { Job, JobState } from '../core/job.js';
import { SELECT_OLD_JOBS } from './pruner.js';
import { SqliteStore } from './sqlite-store.js';
import { WalCheckpointer } from './wal-checkpointer.js';

function job(id: string, state: JobState, finishedAt: number | null, dagId?: string): Job {
  return {
    id,
    seq: Number(id.replace(/\D/g, '')) || 1,
    state,
    attempt: 1,
    workerId: null,
    submittedAt: 1,
    startedAt: 1,
    finishedAt,
    exitCode: null,
    signal: null,
    reason: null,
    notBefore: null,
    pinnedWorker: null,
    crashes: 0,
    attemptBase: 0,
    serviceReady: false,
    spec: {
      name: id,
      run: { kind: 'command', command: 'true' },
      args: [],
      env: {},
      requirement: ['GENERAL'],
      priority: 0,
      retries: 0,
      timeoutSeconds: 0,
      ...(dagId !== undefined ? { dagId } : {}),
    },
    ...(dagId !== undefined ? { dagId } : {}),
  } as Job;
}

function dag(id: string, state: Dag['state'], finishedAt: number | null): Dag {
  return { id, seq: 1, name: id, state, createdAt: 1, finishedAt, total: 1, unfinished: state === 'running' ? 1 : 0, failed: 0 } as Dag;
}

test('retention deletes old finished jobs with their events and logs, in small batches; the DLQ, unfinished jobs and running DAGs stay', () => {
  const store = SqliteStore.open(':memory:');
  const old = 1_000;
  const jobs = [
    job('j1', 'succeeded', old),
    job('j2', 'failed', old),
    job('j3', 'cancelled', old),
    job('j4', 'dead', old),
    job('j5', 'running', null),
    job('j6', 'succeeded', 50_000),
    job('j7', 'succeeded', old, 'd-running'),
    job('j8', 'succeeded', old, 'd-done'),
  ];
  store.writeJobs(
    jobs.map((j) => ({ job: j, event: { jobId: j.id, at: 1, from: null, to: j.state, attempt: 1, workerId: null, detail: null } })),
    [dag('d-running', 'running', null), dag('d-done', 'succeeded', old)],
  );
  for (const j of jobs)
    store.appendLogs(
      Array.from({ length: 3 }, (_, i) => ({ jobId: j.id, attempt: 1, stream: 'stdout' as const, at: 1, line: `${j.id} ${i} ${'x'.repeat(70_000)}` })),
    );

  let batches = 0;
  const total = { jobs: 0, logChunks: 0, dags: 0 };
  for (;;) {
    const batch = store.pruneBatch(10_000, 4);
    batches++;
    total.jobs += batch.jobs;
    total.logChunks += batch.logChunks;
    total.dags += batch.dags;
    if (batch.jobs + batch.logChunks + batch.dags === 0) break;
    assert.ok(batches < 100, 'the passes end');
  }
  assert.deepEqual(total, { jobs: 4, logChunks: 12, dags: 1 });
  assert.ok(batches > 3, `a batch of 4 rows at most: ${batches} batches`);
  for (const gone of ['j1', 'j2', 'j3', 'j8']) {
    assert.equal(store.getJob(gone), undefined, `${gone} is deleted`);
    assert.deepEqual(store.jobEvents(gone), []);
    assert.deepEqual(store.readLogs(gone, 0, 10), []);
  }
  for (const kept of ['j4', 'j5', 'j6', 'j7']) {
    assert.ok(store.getJob(kept) !== undefined, `${kept} stays`);
    assert.equal(store.readLogs(kept, 0, 10).length, 3);
  }
  assert.equal(store.getDag('d-done'), undefined);
  assert.ok(store.getDag('d-running') !== undefined);
  // Seqs are not handed out again after the newest lines were deleted.
  const highest = Math.max(...['j4', 'j5', 'j6', 'j7'].map((id) => store.readLogs(id, 0, 10).at(-1)?.seq ?? 0));
  store.appendLogs([{ jobId: 'j9', attempt: 1, stream: 'stdout', at: 1, line: 'new' }]);
  assert.ok((store.readLogs('j9', 0, 1)[0]?.seq ?? 0) > highest);
  store.close();
});

test('a batch finds the oldest finished jobs by walking the finished_at index, never sorting the whole table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-prune-plan-'));
  const path = join(dir, 'p.db');
  try {
    const store = SqliteStore.open(path);
    const jobs = Array.from({ length: 200 }, (_, i) => job(`j${i + 1}`, 'succeeded', i + 1));
    store.writeJobs(jobs.map((j) => ({ job: j, event: { jobId: j.id, at: 1, from: null, to: j.state, attempt: 1, workerId: null, detail: null } })));
    store.close();
    const db = new Database(path, { readonly: true });
    const plan = db
      .prepare<[number, number], { detail: string }>(`EXPLAIN QUERY PLAN ${SELECT_OLD_JOBS}`)
      .all(100, 16)
      .map((r) => r.detail)
      .join('\n');
    db.close();
    assert.match(plan, /SEARCH jobs USING INDEX jobs_finished/);
    assert.doesNotMatch(plan, /TEMP B-TREE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a WAL that grew past its limit is rewound by the checkpointer and trimmed to the limit by the next commits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-wal-'));
  const path = join(dir, 'w.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  const limit = 256 * 1024;
  db.pragma(`journal_size_limit = ${limit}`); // as the store's own connection sets it
  db.exec('CREATE TABLE t (v TEXT)');
  const checkpointer = new WalCheckpointer(path, 50, undefined, limit);
  try {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (let i = 0; i < 2_000; i++) insert.run('y'.repeat(2_000));
    const wal = `${path}-wal`;
    const grew = statSync(wal).size;
    assert.ok(grew > limit * 4, `the WAL grew to ${grew} bytes`);
    let size = grew;
    for (let i = 0; i < 100 && size > limit; i++) {
      await sleep(50);
      insert.run('a commit, as the master keeps making');
      size = existsSync(wal) ? statSync(wal).size : 0;
    }
    assert.ok(size <= limit, `the WAL is ${size} bytes after the checkpoints (limit ${limit})`);
  } finally {
    checkpointer.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
