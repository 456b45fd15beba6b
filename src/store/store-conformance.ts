import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { ErrorCode, TitanError } from '../common/errors.js';
import { JOB_STATES, type Job, type JobSpec, type JobState } from '../core/job.js';
import type { AsyncStore } from './async-store.js';
import { newDag, type Dag } from '../core/dag.js';
import type { JobWrite, LogLine, ScheduleRecord } from './store.js';

/**
 * The behaviour every store backend must show, through the async contract (the SQLite store runs
 * it through its adapter); a new backend is done when it passes.
 * `makeStore` returns a new, empty store each call. `reopen` is given a closed store and opens
 * the same data again, as a restarted master would. `depose` makes a newer leader take the
 * store's lease (its epoch goes up), as another master winning an election would.
 */
export function runStoreConformance<S extends AsyncStore>(
  name: string,
  makeStore: () => Promise<S>,
  reopen: (closed: S) => Promise<S>,
  depose: (store: S) => Promise<void>,
): void {
  async function fresh(t: TestContext): Promise<S> {
    const store = await makeStore();
    t.after(() => store.close());
    return store;
  }
  async function restart(t: TestContext, store: S): Promise<S> {
    await store.close();
    const again = await reopen(store);
    t.after(() => again.close());
    return again;
  }

  // node:test's describe() and test() return promises its runner awaits; `void` tells the linter.
  void describe(`${name} store`, () => {
    void test('an empty store has no jobs, a zero count for every state and max seq 0', async (t) => {
      const store = await fresh(t);
      assert.deepEqual(await store.loadActiveJobs(), []);
      assert.deepEqual(await store.listJobs({ limit: 10 }), []);
      assert.equal(await store.getJob('nope'), undefined);
      assert.deepEqual(await store.countByState(), Object.fromEntries(JOB_STATES.map((s) => [s, 0])));
      assert.equal(await store.maxJobSeq(), 0);
      assert.deepEqual(await store.jobEvents('nope'), []);
      assert.deepEqual(await store.readLogs('nope', 0, 10), []);
    });

    void test('a tick is stored as its jobs and DAG runs were when it was handed over, not as they changed while it committed', async (t) => {
      const store = await fresh(t);
      const job = makeJob('dag1.a', 1, 'running', { startedAt: 150 });
      const dag = { ...newDag('dag1', 'd', 1, 100), total: 2, unfinished: 2 };
      const committing = tick(store, [submit(job)], [dag]);
      // The core goes on while the transaction waits for the database: the job ends, the run counts it out.
      job.state = 'succeeded';
      dag.unfinished = 1;
      await committing;
      assert.equal((await store.getJob('dag1.a'))?.state, 'running');
      assert.equal((await store.getDag('dag1'))?.unfinished, 2, 'a run never counts a job out before the commit that ends it');
    });

    void test('a written job reads back equal, spec included', async (t) => {
      const store = await fresh(t);
      const plain = makeJob('a', 1);
      const full = makeJob('b', 2, 'failed', {
        spec: { ...SPEC, run: { kind: 'command', command: 'make' }, bundle: 'sha256:ab', env: { A: 'é ✓' } },
        attempt: 3,
        workerId: 'w1',
        startedAt: 150,
        finishedAt: 160,
        exitCode: 2,
        signal: 'SIGTERM',
        reason: 'exit code 2',
      });
      await tick(store, [submit(plain), submit(full)]);
      assert.deepEqual(await store.getJob('a'), plain);
      assert.deepEqual(await store.getJob('b'), full);
    });

    void test('writing a job again replaces it and appends to its history', async (t) => {
      const store = await fresh(t);
      const job = makeJob('a', 1);
      await tick(store, [submit(job)]);
      const running = { ...job, state: 'running' as const, attempt: 1, workerId: 'w1', startedAt: 200 };
      await tick(store, [move(running, 'queued', 200)]);
      assert.deepEqual(await store.getJob('a'), running);
      assert.deepEqual(await store.jobEvents('a'), [
        { jobId: 'a', at: 100, from: null, to: 'queued', attempt: 0, workerId: null, detail: null },
        { jobId: 'a', at: 200, from: 'queued', to: 'running', attempt: 1, workerId: 'w1', detail: 'moved' },
      ]);
    });

    void test('a job written twice in one batch ends as its last write, with both events kept', async (t) => {
      const store = await fresh(t);
      const job = makeJob('a', 1);
      const assigned = { ...job, state: 'assigned' as const, attempt: 1, workerId: 'w1' };
      await tick(store, [submit(job), move(assigned, 'queued', 101)]);
      assert.deepEqual(await store.getJob('a'), assigned);
      assert.deepEqual(
        (await store.jobEvents('a')).map((e) => e.to),
        ['queued', 'assigned'],
      );
    });

    void test('a batch that fails midway writes nothing', async (t) => {
      const store = await fresh(t);
      const existing = makeJob('a', 1);
      await tick(store, [submit(existing)]);
      const clash = makeJob('c', 1); // a second job claiming seq 1 must be refused
      await assert.rejects(async () => await tick(store, [submit(makeJob('b', 2)), move({ ...existing, state: 'running' }, 'queued', 300), submit(clash)]));
      assert.equal(await store.getJob('b'), undefined);
      assert.equal(await store.getJob('c'), undefined);
      assert.deepEqual(await store.getJob('a'), existing);
      assert.equal((await store.jobEvents('a')).length, 1);
      assert.deepEqual(await store.jobEvents('b'), []);
      assert.equal(await store.maxJobSeq(), 1);
      await tick(store, [submit(makeJob('b', 2))]); // and the store is still usable
      assert.equal(await store.maxJobSeq(), 2);
    });

    void test('an empty batch changes nothing', async (t) => {
      const store = await fresh(t);
      await tick(store, []);
      await store.appendLogs([]);
      assert.equal(await store.maxJobSeq(), 0);
    });

    void test('a returned job is a copy: changing it changes nothing stored', async (t) => {
      const store = await fresh(t);
      await tick(store, [submit(makeJob('a', 1))]);
      const got = await store.getJob('a');
      assert.ok(got);
      got.state = 'running';
      (got.spec.args as string[]).push('--mutated');
      assert.equal((await store.getJob('a'))?.state, 'queued');
      assert.deepEqual((await store.getJob('a'))?.spec.args, SPEC.args);
    });

    void test('active jobs come back in submission order after reopen', async (t) => {
      let store = await fresh(t);
      const states: JobState[] = ['running', 'succeeded', 'queued', 'failed', 'pending', 'assigned', 'dead', 'cancelled', 'skipped'];
      // Written out of seq order, so the order read back must come from seq, not from insertion.
      const jobs = states.map((state, i) => makeJob(`j${i}`, 20 - i, state));
      await tick(store, jobs.map(submit));
      store = await restart(t, store);
      const active = await store.loadActiveJobs();
      assert.deepEqual(
        active.map((j) => j.seq),
        [15, 16, 18, 20],
      );
      assert.deepEqual(
        active.map((j) => j.state),
        ['assigned', 'pending', 'queued', 'running'],
      );
      assert.deepEqual(active[0], jobs[5]);
      assert.equal(await store.maxJobSeq(), 20);
    });

    void test('jobs are listed newest first, filtered by state, at most limit', async (t) => {
      const store = await fresh(t);
      const states: JobState[] = ['succeeded', 'queued', 'failed', 'queued', 'running'];
      await tick(
        store,
        states.map((state, i) => submit(makeJob(`j${i + 1}`, i + 1, state))),
      );
      const ids = (jobs: Job[]): string[] => jobs.map((j) => j.id);
      assert.deepEqual(ids(await store.listJobs({ limit: 10 })), ['j5', 'j4', 'j3', 'j2', 'j1']);
      assert.deepEqual(ids(await store.listJobs({ limit: 2 })), ['j5', 'j4']);
      assert.deepEqual(ids(await store.listJobs({ states: ['queued'], limit: 10 })), ['j4', 'j2']);
      assert.deepEqual(ids(await store.listJobs({ states: ['failed', 'succeeded', 'failed'], limit: 10 })), ['j3', 'j1']);
      assert.deepEqual(ids(await store.listJobs({ states: ['queued', 'running'], limit: 2 })), ['j5', 'j4']);
      assert.deepEqual(await store.listJobs({ states: [], limit: 10 }), [], 'an empty state list matches no job');
      assert.deepEqual(await store.listJobs({ limit: 0 }), []);
    });

    void test('jobs are filtered by DAG, worker and text, and paged by a seq cursor', async (t) => {
      const store = await fresh(t);
      await tick(store, [
        submit(makeJob('d1.a', 1, 'succeeded', { spec: { ...SPEC, name: 'extract', dagId: 'd1' }, workerId: 'w1' })),
        submit(makeJob('d1.b', 2, 'running', { spec: { ...SPEC, name: 'load_100%', dagId: 'd1' }, workerId: 'w2' })),
        submit(makeJob('solo', 3, 'failed', { workerId: 'w1' })),
      ]);
      const ids = (jobs: Job[]): string[] => jobs.map((j) => j.id);
      assert.deepEqual(ids(await store.listJobs({ dagId: 'd1', limit: 10 })), ['d1.b', 'd1.a']);
      assert.deepEqual(ids(await store.listJobs({ workerId: 'w1', limit: 10 })), ['solo', 'd1.a']);
      assert.deepEqual(ids(await store.listJobs({ workerId: 'w1', states: ['failed'], limit: 10 })), ['solo']);
      assert.deepEqual(ids(await store.listJobs({ search: 'EXTR', limit: 10 })), ['d1.a'], 'the name matches, ignoring case');
      assert.deepEqual(ids(await store.listJobs({ search: 'sol', limit: 10 })), ['solo'], 'the id matches');
      assert.deepEqual(ids(await store.listJobs({ search: '0%', limit: 10 })), ['d1.b'], 'a % is matched literally');
      assert.deepEqual(ids(await store.listJobs({ search: '_', limit: 10 })), ['d1.b'], 'an _ is matched literally');
      assert.deepEqual(ids(await store.listJobs({ beforeSeq: 3, limit: 1 })), ['d1.b']);
      assert.deepEqual(ids(await store.listJobs({ beforeSeq: 2, limit: 10 })), ['d1.a']);
    });

    void test('counts cover every state, zero where no job is', async (t) => {
      const store = await fresh(t);
      const states: JobState[] = ['queued', 'queued', 'running', 'succeeded', 'succeeded', 'succeeded'];
      await tick(
        store,
        states.map((state, i) => submit(makeJob(`j${i}`, i + 1, state))),
      );
      await tick(store, [move({ ...makeJob('j0', 1), state: 'running' }, 'queued', 200)]);
      const expected = Object.fromEntries(JOB_STATES.map((s) => [s, 0]));
      assert.deepEqual(await store.countByState(), { ...expected, queued: 1, running: 2, succeeded: 3 });
    });

    void test('max seq is the highest seq ever written, whatever state that job is in', async (t) => {
      const store = await fresh(t);
      await tick(store, [submit(makeJob('a', 7, 'succeeded')), submit(makeJob('b', 3))]);
      assert.equal(await store.maxJobSeq(), 7);
    });

    void test('events of a job come back in the order they were written, with their details', async (t) => {
      const store = await fresh(t);
      const job = makeJob('a', 1);
      await tick(store, [submit(job), submit(makeJob('b', 2))]);
      await tick(store, [
        move({ ...job, state: 'assigned', attempt: 1, workerId: 'w1' }, 'queued', 300),
        move({ ...job, state: 'queued', attempt: 1, workerId: null }, 'assigned', 200, 'worker w1 lost'),
      ]);
      const events = await store.jobEvents('a');
      assert.deepEqual(
        events.map((e) => [e.from, e.to, e.at]),
        [
          [null, 'queued', 100],
          ['queued', 'assigned', 300],
          ['assigned', 'queued', 200],
        ],
      );
      assert.equal(events[2]?.detail, 'worker w1 lost');
      assert.equal((await store.jobEvents('b')).length, 1);
    });

    void test('meta survives reopen', async (t) => {
      let store = await fresh(t);
      assert.equal(await store.getMeta('cluster-id'), undefined);
      await store.setMeta('cluster-id', 'first');
      await store.setMeta('cluster-id', 'c-42');
      await store.setMeta('empty', '');
      store = await restart(t, store);
      assert.equal(await store.getMeta('cluster-id'), 'c-42');
      assert.equal(await store.getMeta('empty'), '');
    });

    void test('jobs, events and counts survive reopen', async (t) => {
      let store = await fresh(t);
      const job = makeJob('a', 1, 'succeeded', { exitCode: 0, finishedAt: 500 });
      await tick(store, [submit(job)]);
      store = await restart(t, store);
      assert.deepEqual(await store.getJob('a'), job);
      assert.equal((await store.jobEvents('a')).length, 1);
      assert.equal((await store.countByState()).succeeded, 1);
      assert.deepEqual(await store.loadActiveJobs(), []);
    });

    void test('a write fenced with the leader epoch lands; once a newer leader took over, every write is refused with E_FENCED and writes nothing', async (t) => {
      const store = await fresh(t);
      const epoch = await store.leaderEpoch();
      store.fence(epoch);
      await tick(store, [submit(makeJob('a', 1))]);
      await depose(store);
      assert.ok((await store.leaderEpoch()) > epoch, 'the newer leader has a higher epoch');
      const fenced = (err: unknown): boolean => {
        assert.ok(err instanceof TitanError);
        assert.equal(err.code, ErrorCode.FENCED);
        assert.match(err.message, new RegExp(`epoch ${epoch} is stale.*another master leads.*nothing was written`));
        return true;
      };
      const job = makeJob('a', 1);
      await assert.rejects(tick(store, [submit(makeJob('b', 2)), move({ ...job, state: 'running' }, 'queued', 200)]), fenced);
      await assert.rejects(store.appendLogs([log('a', 'late line')]), fenced);
      await assert.rejects(store.kvPut('k', 'v', null, 100), fenced);
      await assert.rejects(store.setMeta('cluster-id', 'stale'), fenced);
      await assert.rejects(store.putSchedule({ ...SCHEDULE, id: 's' }), fenced);
      await assert.rejects(store.publishArtifact('out', 'f'.repeat(64), 1, null, 100), fenced);
      assert.deepEqual(await store.getJob('a'), job, "the deposed leader's transition did not land");
      assert.equal(await store.getJob('b'), undefined);
      assert.deepEqual(await store.readLogs('a', 0, 10), []);
      assert.equal(await store.kvGet('k', 100), undefined);
      assert.equal(await store.getMeta('cluster-id'), undefined);
      store.fence(await store.leaderEpoch());
      await store.kvPut('k', 'v', null, 100);
      assert.deepEqual(await store.kvGet('k', 100), { kind: 'string', value: 'v' }, 'the current epoch writes again');
    });

    void test('close can be called twice', async (t) => {
      const store = await fresh(t);
      await store.close();
      await store.close();
    });
  });
}

const SCHEDULE: ScheduleRecord = {
  id: 's',
  name: 'nightly',
  cron: '0 * * * *',
  tz: null,
  overlap: 'skip',
  misfire: 'skip',
  paused: false,
  payload: '{}',
  lastDueAt: null,
  lastDagId: null,
  createdAt: 100,
  resumedAt: null,
};

const SPEC: JobSpec = {
  name: 'train',
  run: { kind: 'script', fileName: 'train.py', artifact: 'sha256:00' },
  args: ['--epochs', '3'],
  env: {},
  requirement: ['GENERAL'],
  priority: 0,
  retries: 1,
  timeoutSeconds: 0,
};

function makeJob(id: string, seq: number, state: JobState = 'queued', over: Partial<Job> = {}): Job {
  return {
    id,
    seq,
    state,
    spec: SPEC,
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
    ...over,
  };
}

function submit(job: Job): JobWrite {
  return { job, event: { jobId: job.id, at: 100, from: null, to: job.state, attempt: job.attempt, workerId: job.workerId, detail: null } };
}

function move(job: Job, from: JobState, at: number, detail = 'moved'): JobWrite {
  return { job, event: { jobId: job.id, at, from, to: job.state, attempt: job.attempt, workerId: job.workerId, detail } };
}

function log(jobId: string, line: string, stream: LogLine['stream'] = 'stdout'): LogLine {
  return { jobId, attempt: 1, stream, at: 1000, line };
}

/** The tick's writes as the master's shell commits them: one transaction. */
function tick(store: AsyncStore, writes: readonly JobWrite[], dags: readonly Dag[] = [], schedules: readonly ScheduleRecord[] = []): Promise<void> {
  return store.commitTick({ writes, dags, schedules });
}
