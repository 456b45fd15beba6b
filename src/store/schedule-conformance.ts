import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { Dag } from '../core/dag.js';
import type { Job } from '../core/job.js';
import type { AsyncStore } from './async-store.js';
import type { JobWrite, ScheduleRecord } from './store.js';

/**
 * The schedules part of the Store contract, for every backend (beside runStoreConformance):
 * `makeStore` gives a new empty store, `reopen` the same data after close, as a restarted master,
 * both through the async contract (async-store.ts).
 */
export function runScheduleConformance<S extends AsyncStore>(name: string, makeStore: () => Promise<S>, reopen: (closed: S) => Promise<S>): void {
  async function fresh(t: TestContext): Promise<S> {
    const store = await makeStore();
    t.after(() => store.close());
    return store;
  }

  void describe(`${name} store: schedules`, () => {
    void test('an empty store has no schedules', async (t) => {
      const store = await fresh(t);
      assert.deepEqual(await store.listSchedules(), []);
      assert.equal(await store.getSchedule('nope'), undefined);
      assert.equal(await store.deleteSchedule('nope'), false);
    });

    void test('a schedule reads back equal, is replaced whole by a second put, and listed oldest first', async (t) => {
      const store = await fresh(t);
      const b = schedule('b', { createdAt: 200, tz: 'Europe/Paris', overlap: 'queue', misfire: 'run_once' });
      await store.putSchedule(b);
      await store.putSchedule(schedule('a'));
      assert.deepEqual(await store.getSchedule('b'), b);
      const paused = { ...b, paused: true, lastDueAt: 5000, lastDagId: 'd1', resumedAt: 4000 };
      await store.putSchedule(paused);
      assert.deepEqual(await store.getSchedule('b'), paused);
      assert.deepEqual(
        (await store.listSchedules()).map((s) => s.id),
        ['a', 'b'],
      );
    });

    void test('a deleted schedule is gone', async (t) => {
      const store = await fresh(t);
      await store.putSchedule(schedule('a'));
      assert.equal(await store.deleteSchedule('a'), true);
      assert.equal(await store.getSchedule('a'), undefined);
      assert.deepEqual(await store.listSchedules(), []);
    });

    void test('a fire is recorded with the DAG it creates, in one transaction', async (t) => {
      const store = await fresh(t);
      await store.putSchedule(schedule('a'));
      const fired = { ...schedule('a'), lastDueAt: 1000, lastDagId: 'd1' };
      await tick(store, [submit(job('d1.x', 1, 'd1'))], [dag('d1', 1)], [fired]);
      assert.deepEqual(await store.getSchedule('a'), fired);
      assert.equal((await store.getDag('d1'))?.id, 'd1');
      assert.equal((await store.getJob('d1.x'))?.id, 'd1.x');
    });

    void test('a fire whose DAG cannot be written is not recorded either', async (t) => {
      const store = await fresh(t);
      await tick(store, [submit(job('x', 1))]);
      await store.putSchedule(schedule('a'));
      const clash = job('d2.x', 1, 'd2'); // seq 1 is taken: the batch must fail whole
      await assert.rejects(async () => tick(store, [submit(clash)], [dag('d2', 1)], [{ ...schedule('a'), lastDueAt: 2000, lastDagId: 'd2' }]));
      assert.deepEqual(await store.getSchedule('a'), schedule('a'));
      assert.equal(await store.getDag('d2'), undefined);
    });

    void test('schedules and their last fire survive reopen', async (t) => {
      const store = await makeStore();
      const fired = { ...schedule('a'), lastDueAt: 1000, lastDagId: 'd1' };
      await tick(store, [], [], [fired]);
      await store.close();
      const again = await reopen(store);
      t.after(() => again.close());
      assert.deepEqual(await again.listSchedules(), [fired]);
    });
  });
}

function schedule(id: string, over: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return {
    id,
    name: `nightly-${id}`,
    cron: '*/5 * * * *',
    tz: null,
    overlap: 'skip',
    misfire: 'skip',
    paused: false,
    payload: JSON.stringify({ name: 'etl', jobs: [{ key: 'x', run: { kind: 'command', command: 'true' } }] }),
    lastDueAt: null,
    lastDagId: null,
    createdAt: 100,
    resumedAt: null,
    ...over,
  };
}

function job(id: string, seq: number, dagId?: string): Job {
  return {
    id,
    seq,
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

function dag(id: string, seq: number): Dag {
  return { id, seq, name: 'etl', state: 'running', createdAt: 100, finishedAt: null, total: 1, unfinished: 1, failed: 0 };
}

function submit(j: Job): JobWrite {
  return { job: j, event: { jobId: j.id, at: 100, from: null, to: j.state, attempt: 0, workerId: null, detail: null } };
}

/** The tick's writes as the master's shell commits them: one transaction. */
function tick(store: AsyncStore, writes: readonly JobWrite[], dags: readonly Dag[] = [], schedules: readonly ScheduleRecord[] = []): Promise<void> {
  return store.commitTick({ writes, dags, schedules });
}
