import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from './scheduler.js';
import type { Effect } from './effects.js';
import type { JobSpec } from './job.js';
import { spec, worker } from './test-fixtures.js';

const ok = { exitCode: 0, signal: null, durationMs: 1 };
const bad = { exitCode: 1, signal: null, durationMs: 1 };

function dispatched(effects: Effect[]): string[] {
  return effects.flatMap((e) => (e.type === 'dispatch' ? [e.job.id] : []));
}

function states(effects: Effect[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of effects) if (e.type === 'finished') out[e.job.id] = e.job.state;
  return out;
}

function dagDone(effects: Effect[]): string | undefined {
  const done = effects.find((e) => e.type === 'dagFinished');
  return done?.type === 'dagFinished' ? done.dag.state : undefined;
}

/** A DAG where each entry is [id, parents, extra spec]. */
function build(s: Scheduler, jobs: Array<[string, string[], Partial<JobSpec>?]>): Effect[] {
  const effects = s.createDag('d', 'test', 0);
  for (const [id, parents, extra] of jobs) effects.push(...s.submit(id, spec({ dagId: 'd', parents, ...extra }), 0));
  return effects;
}

function finish(s: Scheduler, id: string, outcome = ok): Effect[] {
  const job = s.job(id)!;
  return s.jobFinished(job.workerId!, id, job.attempt, outcome, 1);
}

describe('DAG runs', () => {
  test('a diamond runs root, then both branches, then the sink, and the DAG succeeds', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w', { slots: 4 }), 0);
    assert.deepEqual(
      dispatched(
        build(s, [
          ['root', []],
          ['left', ['root']],
          ['right', ['root']],
          ['sink', ['left', 'right']],
        ]),
      ),
      ['root'],
    );
    assert.deepEqual(dispatched(finish(s, 'root')).sort(), ['left', 'right']);
    assert.deepEqual(dispatched(finish(s, 'left')), []);
    assert.equal(s.job('sink')?.state, 'pending');
    assert.deepEqual(dispatched(finish(s, 'right')), ['sink']);
    assert.equal(dagDone(finish(s, 'sink')), 'succeeded');
  });

  test('a waiting child cancelled on its own is never opened when its parents end', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w', { slots: 4 }), 0);
    build(s, [
      ['a', []],
      ['b', []],
      ['child', ['a', 'b']],
    ]);
    s.cancel('child', 1);
    assert.equal(s.job('child'), undefined, 'the cancelled child left memory');
    assert.deepEqual(dispatched(finish(s, 'a')), []);
    assert.deepEqual(dispatched(finish(s, 'b')), [], 'the last parent ending opens nothing');
  });

  test('a failed parent skips its all_success descendants, runs all_done children, and fails the DAG', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w', { slots: 4 }), 0);
    build(s, [
      ['a', []],
      ['b', ['a']],
      ['c', ['b']],
      ['cleanup', ['a'], { triggerRule: 'all_done' }],
    ]);
    const effects = finish(s, 'a', bad);
    assert.deepEqual(states(effects), { a: 'failed', b: 'skipped', c: 'skipped' });
    assert.deepEqual(dispatched(effects), ['cleanup']);
    assert.equal(dagDone(finish(s, 'cleanup')), 'failed');
  });

  test('a one_failed child runs only when a parent failed, and is skipped otherwise', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w', { slots: 4 }), 0);
    build(s, [
      ['a', []],
      ['alert', ['a'], { triggerRule: 'one_failed' }],
    ]);
    const effects = finish(s, 'a');
    assert.deepEqual(states(effects), { a: 'succeeded', alert: 'skipped' });
    assert.equal(dagDone(effects), 'succeeded');
  });

  test('an on_failure job runs instead of the DAG failing', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w', { slots: 4 }), 0);
    build(s, [
      ['gpu', [], { onFailure: 'cpu' }],
      ['cpu', ['gpu'], { triggerRule: 'one_failed' }],
    ]);
    assert.deepEqual(dispatched(finish(s, 'gpu', bad)), ['cpu']);
    assert.equal(dagDone(finish(s, 'cpu')), 'succeeded');
  });

  test('affinity places the child on the worker that ran its parent, even when another is idler', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 2 }), 0);
    s.registerWorker(worker('w2', { slots: 2 }), 0);
    build(s, [
      ['parent', []],
      ['busy', []],
      ['child', ['parent'], { affinity: true }],
    ]);
    assert.equal(s.job('parent')?.workerId, 'w1');
    const effects = finish(s, 'parent');
    assert.deepEqual(
      effects.flatMap((e) => (e.type === 'dispatch' ? [[e.job.id, e.workerId]] : [])),
      [['child', 'w1']],
    );
  });

  test('a child pinned to a busy parent worker waits for it, and goes elsewhere once that worker dies', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 1 }), 0);
    s.registerWorker(worker('w2', { slots: 1 }), 0);
    build(s, [
      ['p1', []],
      ['p2', []],
      ['child', ['p1', 'p2'], { affinity: true }],
    ]);
    assert.equal(s.job('p1')?.workerId, 'w1');
    s.submit('hog', spec({ priority: 10 }), 0);
    finish(s, 'p1');
    assert.equal(s.job('hog')?.workerId, 'w1');
    finish(s, 'p2');
    assert.equal(s.job('child')?.state, 'queued');
    assert.match(s.waitingReason(s.job('child')!, 0) ?? '', /w1, the worker that ran its parent/);
    assert.deepEqual(dispatched(s.workerLost('w1', 2, 'gone')), ['hog']);
    assert.equal(s.job('child')?.pinnedWorker, null);
    const effects = s.registerWorker(worker('w3'), 3);
    assert.deepEqual(
      effects.flatMap((e) => (e.type === 'dispatch' ? [[e.job.id, e.workerId]] : [])),
      [['child', 'w3']],
    );
  });

  test('a delayed job waits for its wake-up time', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w'), 0);
    const effects = s.submit('later', spec({ delaySeconds: 5 }), 1000);
    assert.deepEqual(dispatched(effects), []);
    assert.ok(effects.some((e) => e.type === 'wake' && e.at === 6000));
    assert.deepEqual(dispatched(s.wake(5999)), []);
    assert.deepEqual(dispatched(s.wake(6000)), ['later']);
  });

  test('a retry waits for its exponential backoff', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w'), 0);
    s.submit('flaky', spec({ retries: 3, retryBackoff: { type: 'exponential', delaySeconds: 1, maxSeconds: 10 } }), 0);
    const first = s.jobFinished('w', 'flaky', 1, bad, 100);
    assert.ok(first.some((e) => e.type === 'wake' && e.at === 1100));
    s.wake(1100);
    const second = s.jobFinished('w', 'flaky', 2, bad, 2000);
    assert.ok(second.some((e) => e.type === 'wake' && e.at === 4000));
  });

  test('cancelling a DAG kills its running jobs, skips the rest and ends the DAG cancelled', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w', { slots: 4 }), 0);
    build(s, [
      ['a', []],
      ['b', ['a']],
    ]);
    const effects = s.cancelDag('d', 1);
    assert.ok(effects.some((e) => e.type === 'kill' && e.jobId === 'a'));
    assert.deepEqual(states(effects), { a: 'cancelled', b: 'skipped' });
    assert.equal(dagDone(effects), 'cancelled');
  });

  test('cancelling a DAG whose first job waits for a worker cancels that job and skips its children', () => {
    const s = new Scheduler();
    build(s, [
      ['a', []],
      ['b', ['a']],
    ]);
    const effects = s.cancelDag('d', 1);
    assert.deepEqual(states(effects), { a: 'cancelled', b: 'skipped' });
    assert.equal(dagDone(effects), 'cancelled');
  });

  test('a job may be added to a running DAG as the child of a finished job', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w', { slots: 4 }), 0);
    build(s, [
      ['a', []],
      ['keepalive', []],
    ]);
    finish(s, 'a');
    const effects = s.submit('late', spec({ dagId: 'd', parents: ['a'] }), 2, new Map([['a', 'succeeded']]));
    assert.deepEqual(dispatched(effects), ['late']);
  });

  test('a parent that does not exist is refused', () => {
    const s = new Scheduler();
    s.createDag('d', 'test', 0);
    assert.throws(() => s.submit('x', spec({ dagId: 'd', parents: ['ghost'] }), 0), /depends on ghost, which does not exist/);
    assert.equal(s.job('x'), undefined);
  });

  test('a dead job retried by hand runs again with a fresh budget and resumes its DAG', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w', { slots: 4 }), 0);
    build(s, [['a', [], { retries: 1 }]]);
    finish(s, 'a', bad);
    const effects = finish(s, 'a', bad);
    const deadJob = effects.find((e) => e.type === 'finished');
    const dag = effects.find((e) => e.type === 'dagFinished');
    assert.equal(deadJob?.type === 'finished' ? deadJob.job.state : null, 'dead');
    assert.equal(dag?.type === 'dagFinished' ? dag.dag.state : null, 'failed');
    const stored = deadJob?.type === 'finished' ? { ...deadJob.job } : undefined;
    const storedDag = dag?.type === 'dagFinished' ? { ...dag.dag } : undefined;
    const retried = s.retry(stored!, storedDag, 10);
    assert.deepEqual(dispatched(retried), ['a']);
    assert.equal(s.job('a')?.attempt, 3);
    assert.equal(dagDone(finish(s, 'a')), 'succeeded');
  });

  test('a master restart rebuilds waiting children, including those whose parents finished before it', () => {
    const before = new Scheduler();
    before.registerWorker(worker('w', { slots: 4 }), 0);
    const written = [
      ...build(before, [
        ['a', []],
        ['b', []],
        ['c', ['a', 'b']],
      ]),
      ...finish(before, 'a'),
    ];
    const snapshot = [...before.activeJobs()].map((j) => ({ ...j }));
    // What the store holds: the DAG row as last persisted, not the scheduler's memory.
    const lastDagWrite = written.filter((e) => e.type === 'persistDag').at(-1);
    const dags = lastDagWrite?.type === 'persistDag' ? [{ ...lastDagWrite.dag }] : [];
    assert.equal(dags[0]?.unfinished, 2);
    const after = new Scheduler();
    after.recover(snapshot, dags, new Map([['a', 'succeeded']]), 10);
    after.registerWorker(worker('w', { slots: 4, holding: [{ jobId: 'b', attempt: 1 }] }), 11);
    const bDone = after.jobFinished('w', 'b', 1, ok, 12);
    assert.deepEqual(dispatched(bDone), ['c']);
    assert.equal(dagDone(after.jobFinished('w', 'c', 1, ok, 13)), 'succeeded');
  });
});
