import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dag } from '../core/dag.js';
import type { Job, JobState } from '../core/job.js';
import type { AsyncStore } from './async-store.js';

/**
 * Retention through the async contract, for every backend (beside runStoreConformance):
 * `makeStore` gives a new, empty store; the test closes it.
 */
export function runPruneConformance<S extends AsyncStore>(name: string, makeStore: () => Promise<S>): void {
  void test(`${name} store: retention deletes old finished jobs with their events and logs, in small batches; the DLQ, unfinished jobs and running DAGs stay`, async (t) => {
    const store = await makeStore();
    t.after(() => store.close());
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
    await store.commitTick({
      writes: jobs.map((j) => ({ job: j, event: { jobId: j.id, at: 1, from: null, to: j.state, attempt: 1, workerId: null, detail: null } })),
      dags: [dag('d-running', 'running', null), dag('d-done', 'succeeded', old)],
    });
    for (const j of jobs)
      await store.appendLogs(
        Array.from({ length: 3 }, (_, i) => ({ jobId: j.id, attempt: 1, stream: 'stdout' as const, at: 1, line: `${j.id} ${i} ${'x'.repeat(70_000)}` })),
      );

    let batches = 0;
    const total = { jobs: 0, logChunks: 0, dags: 0 };
    for (;;) {
      const batch = await store.pruneBatch(10_000, 4);
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
      assert.equal(await store.getJob(gone), undefined, `${gone} is deleted`);
      assert.deepEqual(await store.jobEvents(gone), []);
      assert.deepEqual(await store.readLogs(gone, 0, 10), []);
    }
    for (const kept of ['j4', 'j5', 'j6', 'j7']) {
      assert.ok((await store.getJob(kept)) !== undefined, `${kept} stays`);
      assert.equal((await store.readLogs(kept, 0, 10)).length, 3);
    }
    assert.equal(await store.getDag('d-done'), undefined);
    assert.ok((await store.getDag('d-running')) !== undefined);
    // Seqs are not handed out again after the newest lines were deleted.
    let highest = 0;
    for (const id of ['j4', 'j5', 'j6', 'j7']) highest = Math.max(highest, (await store.readLogs(id, 0, 10)).at(-1)?.seq ?? 0);
    await store.appendLogs([{ jobId: 'j9', attempt: 1, stream: 'stdout', at: 1, line: 'new' }]);
    assert.ok(((await store.readLogs('j9', 0, 1))[0]?.seq ?? 0) > highest);
  });
}

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
  };
}

function dag(id: string, state: Dag['state'], finishedAt: number | null): Dag {
  return { id, seq: 1, name: id, state, createdAt: 1, finishedAt, total: 1, unfinished: state === 'running' ? 1 : 0, failed: 0 };
}
