import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { Job, JobRun, JobState } from '../core/job.js';
import type { AsyncStore } from './async-store.js';
import type { JobWrite } from './store.js';

/**
 * What names an artifact, for every backend (beside runStoreConformance): retention deletes an
 * artifact file only when `artifactInUse` says nothing does. Also the store's size, which /metrics
 * shows. `makeStore` gives a new empty store.
 */
export function runArtifactConformance<S extends AsyncStore>(name: string, makeStore: () => Promise<S>): void {
  async function fresh(t: TestContext): Promise<S> {
    const store = await makeStore();
    t.after(() => store.close());
    return store;
  }

  void describe(`${name} store: artifacts in use`, () => {
    void test('a script or bundle of a job in any state, a key or a schedule keeps an artifact in use; nothing else does', async (t) => {
      const store = await fresh(t);
      await store.commitTick({
        writes: [
          write(job('queued-script', 1, 'queued', { kind: 'script', fileName: 'a.py', artifact: h('a') })),
          write(job('dead-script', 2, 'dead', { kind: 'script', fileName: 'b.py', artifact: h('b') })),
          write(job('bundled', 3, 'succeeded', { kind: 'command', command: 'make' }, { bundle: h('c') })),
          // A hash in an argument is not a reference.
          write(job('mentions', 4, 'running', { kind: 'command', command: 'echo' }, { args: [h('f')] })),
        ],
      });
      await store.publishArtifact('model/latest', h('d'), 10, null, 100);
      await store.putSchedule({
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
      for (const c of ['a', 'b', 'c', 'd', 'e']) assert.equal(await store.artifactInUse(h(c)), true, `${c} is in use`);
      assert.equal(await store.artifactInUse(h('f')), false);
      assert.equal(await store.artifactInUse(h('0')), false);
    });

    void test('once the last job naming an artifact is pruned, or its key moves, it is no longer in use', async (t) => {
      const store = await fresh(t);
      await store.commitTick({ writes: [write({ ...job('done', 1, 'succeeded', { kind: 'script', fileName: 'a.py', artifact: h('a') }), finishedAt: 100 })] });
      await store.publishArtifact('k', h('b'), 1, null, 100);
      assert.equal(await store.artifactInUse(h('a')), true);
      while ((await store.pruneBatch(1_000, 100)).jobs > 0);
      assert.equal(await store.artifactInUse(h('a')), false);
      await store.publishArtifact('k', h('c'), 1, null, 200);
      assert.equal(await store.artifactInUse(h('b')), false);
      assert.equal(await store.artifactInUse(h('c')), true);
    });

    void test('the store reports the bytes it takes, more once it holds jobs', async (t) => {
      const store = await fresh(t);
      await store.commitTick({ writes: [write(job('sized', 1, 'queued', { kind: 'command', command: 'true' }))] });
      const { db, wal } = await store.storeBytes();
      assert.ok(db > 0, `db ${db}`);
      assert.ok(wal >= 0, `wal ${wal}`);
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
