import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { newDag, type Dag } from '../core/dag.js';
import { newJob, type Job, type JobSpec, type JobState } from '../core/job.js';
import type { AsyncStore } from './async-store.js';
import type { JobWrite } from './store.js';

/**
 * What every store does with a large DAG admission (sealed-admission.ts): its tick commits whole
 * as handed over, however the store cuts it, and the jobs of a run whose DAG row was never
 * written are dropped before recovery reads them.
 */
export function runAdmissionConformance<S extends AsyncStore>(name: string, makeStore: () => Promise<S>, reopen: (closed: S) => Promise<S>): void {
  async function fresh(t: TestContext): Promise<S> {
    const store = await makeStore();
    t.after(() => store.close());
    return store;
  }

  void describe(`${name} store: large DAG admissions`, () => {
    void test('a 2,500-job new run commits every job, event and the run, as they were when handed over', async (t) => {
      const store = await fresh(t);
      const jobs = Array.from({ length: 2_500 }, (_, i) => job(`big.j${i}`, i + 1, 'big'));
      const dag: Dag = { ...newDag('big', 'big', 1, 100), total: jobs.length, unfinished: jobs.length };
      const committing = store.commitTick({ writes: jobs.map(submitted), dags: [dag] });
      // The core goes on while the chunks commit: a job is cancelled and the run counts it out.
      jobs[2_400]!.state = 'cancelled';
      dag.unfinished -= 1;
      await committing;
      assert.equal((await store.jobsOfDag('big')).length, 2_500);
      assert.equal((await store.getJob('big.j2400'))?.state, 'queued');
      assert.equal((await store.getDag('big'))?.unfinished, 2_500);
      assert.equal((await store.jobEvents('big.j2499')).length, 1);
      assert.equal(await store.dropUnsealedDagJobs(), 0, 'a sealed run is kept');
    });

    void test('jobs of a run with no DAG row are dropped with their events; other jobs stay, also across a restart', async (t) => {
      let store = await makeStore();
      const ghost = [job('ghost.a', 1, 'ghost'), job('ghost.b', 2, 'ghost')];
      const kept = [job('real.a', 3, 'real'), job('alone', 4)];
      await store.commitTick({ writes: [...ghost, ...kept].map(submitted), dags: [{ ...newDag('real', 'r', 1, 100), total: 1, unfinished: 1 }] });
      assert.equal(await store.dropUnsealedDagJobs(), 2);
      assert.equal(await store.getJob('ghost.a'), undefined);
      assert.deepEqual(await store.jobEvents('ghost.b'), []);
      assert.deepEqual((await store.loadActiveJobs()).map((j) => j.id).sort(), ['alone', 'real.a']);
      await store.close();
      store = await reopen(store);
      t.after(() => store.close());
      assert.equal(await store.dropUnsealedDagJobs(), 0);
      assert.equal((await store.jobEvents('real.a')).length, 1);
    });
  });
}

const SPEC: JobSpec = {
  name: 'step',
  run: { kind: 'command', command: '/bin/true' },
  args: [],
  env: {},
  requirement: ['GENERAL'],
  priority: 0,
  retries: 0,
  timeoutSeconds: 0,
};

function job(id: string, seq: number, dagId?: string, state: JobState = 'queued'): Job {
  return newJob(id, dagId === undefined ? SPEC : { ...SPEC, dagId }, seq, 100, state);
}

function submitted(j: Job): JobWrite {
  return { job: j, event: { jobId: j.id, at: 100, from: null, to: j.state, attempt: 0, workerId: null, detail: null } };
}
