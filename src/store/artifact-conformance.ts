import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { Job, JobRun, JobState } from '../core/job.js';
import type { JobWrite, Store } from './store.js';

/**
 * What names an artifact, for every backend (beside runStoreConformance): retention deletes an
 * artifact file only when `artifactInUse` says nothing does. `makeStore` gives a new empty store.
 */
export function runArtifactConformance<S extends Store>(name: string, makeStore: () => S): void {
  function fresh(t: TestContext): S {
    const store = makeStore();
    t.after(() => store.close());
    return store;
  }

  void describe(`${name} store: artifacts in use`, () => {
    void test('a script or bundle of a job in any state, a key or a schedule keeps an artifact in use; nothing else does', (t) => {
      const store = fresh(t);
      store.writeJobs([
        write(job('queued-script', 1, 'queued', { kind: 'script', fileName: 'a.py', artifact: h('a') })),
        write(job('dead-script', 2, 'dead', { kind: 'script', fileName: 'b.py', artifact: h('b') })),
        write(job('bundled', 3, 'succeeded', { kind: 'command', command: 'make' }, { bundle: h('c') })),
        // A hash in an argument is not a reference.
        write(job('mentions', 4, 'running', { kind: 'command', command: 'echo' }, { args: [h('f')] })),
      ]);
      store.publishArtifact('model/latest', h('d'), 10, null, 100);
      store.putSchedule({
        id: 'nightly',
        name: 'nightly',
        cron: '0 3 * * *',
        tz: null,
        overlap: 'skip',
        misfire: 'skip',
        paused: false,
        payload: JSON.stringify({ name: 'etl', jobs: [{ key: 'x', run: { kind: 'script', fileName: 'etl.py', artifact: h('e') } }] }),
        lastDueAt: null,
        lastDagId: null,
        createdAt: 100,
        resumedAt: null,
      });
      for (const c of ['a', 'b', 'c', 'd', 'e']) assert.equal(store.artifactInUse(h(c)), true, `${c} is in use`);
      assert.equal(store.artifactInUse(h('f')), false);
      assert.equal(store.artifactInUse(h('0')), false);
    });

    void test('once the last job naming an artifact is pruned, or its key moves, it is no longer in use', (t) => {
      const store = fresh(t);
      store.writeJobs([write({ ...job('done', 1, 'succeeded', { kind: 'script', fileName: 'a.py', artifact: h('a') }), finishedAt: 100 })]);
      store.publishArtifact('k', h('b'), 1, null, 100);
      assert.equal(store.artifactInUse(h('a')), true);
      while (store.pruneBatch(1_000, 100).jobs > 0);
      assert.equal(store.artifactInUse(h('a')), false);
      store.publishArtifact('k', h('c'), 1, null, 200);
      assert.equal(store.artifactInUse(h('b')), false);
      assert.equal(store.artifactInUse(h('c')), true);
    });
  });
}

const h = (c: string): string => c.repeat(64);

function job(id: string, seq: number, state: JobState, run: JobRun, over: { bundle?: string; args?: string[] } = {}): Job {
  return {
    id,
    seq,
    state,
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
      run,
      args: over.args ?? [],
      env: {},
      requirement: ['GENERAL'],
      priority: 0,
      retries: 0,
      timeoutSeconds: 0,
      ...(over.bundle !== undefined ? { bundle: over.bundle } : {}),
    },
  };
}

function write(j: Job): JobWrite {
  return { job: j, event: { jobId: j.id, at: 100, from: null, to: j.state, attempt: j.attempt, workerId: null, detail: null } };
}
