import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from './scheduler.js';
import type { Effect } from './effects.js';
import { spec, worker } from './test-fixtures.js';

function dispatches(effects: Effect[]): Array<[string, string, number]> {
  return effects.flatMap((e) => (e.type === 'dispatch' ? [[e.job.id, e.workerId, e.job.attempt] as [string, string, number]] : []));
}

describe('scheduler', () => {
  test('a submitted job is persisted before it is dispatched to a live worker', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1'), 0);
    const effects = s.submit('a', spec(), 1);
    assert.deepEqual(
      effects.map((e) => e.type),
      ['persist', 'persist', 'dispatch'],
    );
    assert.deepEqual(dispatches(effects), [['a', 'w1', 1]]);
  });

  test('jobs wait in the queue until a worker registers, then run highest priority first', () => {
    const s = new Scheduler();
    s.submit('low', spec({ priority: 1 }), 0);
    s.submit('high', spec({ priority: 9 }), 0);
    s.submit('mid', spec({ priority: 5 }), 0);
    const effects = s.registerWorker(worker('w1', { slots: 2 }), 1);
    assert.deepEqual(
      dispatches(effects).map((d) => d[0]),
      ['high', 'mid'],
    );
  });

  test('equal priorities run in submission order', () => {
    const s = new Scheduler();
    for (const id of ['a', 'b', 'c']) s.submit(id, spec(), 0);
    const effects = s.registerWorker(worker('w1', { slots: 3 }), 1);
    assert.deepEqual(
      dispatches(effects).map((d) => d[0]),
      ['a', 'b', 'c'],
    );
  });

  test('a GPU job waits for a GPU worker and never lands on a general one, while general work flows', () => {
    const s = new Scheduler();
    s.registerWorker(worker('cpu', { slots: 4 }), 0);
    const gpu = s.submit('train', spec({ requirement: ['GPU'] }), 1);
    assert.deepEqual(dispatches(gpu), []);
    assert.match(s.waitingReason(s.job('train')!, 0) ?? '', /no live worker has them/);
    assert.deepEqual(dispatches(s.submit('prep', spec(), 2)), [['prep', 'cpu', 1]]);
    const later = s.registerWorker(worker('gpu', { tags: ['GPU'] }), 3);
    assert.deepEqual(dispatches(later), [['train', 'gpu', 1]]);
  });

  test('placement picks the least-loaded worker, ties broken by registration order', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 2 }), 0);
    s.registerWorker(worker('w2', { slots: 4 }), 0);
    const placed = ['a', 'b', 'c'].map((id) => dispatches(s.submit(id, spec(), 1))[0]?.[1]);
    assert.deepEqual(placed, ['w1', 'w2', 'w2']);
  });

  test('a full cluster queues work and places it when a slot frees', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 1 }), 0);
    s.submit('a', spec(), 0);
    assert.deepEqual(dispatches(s.submit('b', spec(), 0)), []);
    const done = s.jobFinished('w1', 'a', 1, { exitCode: 0, signal: null, durationMs: 3 }, 5);
    assert.ok(done.some((e) => e.type === 'finished' && e.job.id === 'a' && e.job.state === 'succeeded'));
    assert.deepEqual(dispatches(done), [['b', 'w1', 1]]);
  });

  test('the running jobs of a lost worker are re-queued and run elsewhere with a new attempt', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 1 }), 0);
    s.submit('a', spec(), 0);
    s.jobStarted('w1', 'a', 1, 1);
    assert.deepEqual(dispatches(s.workerLost('w1', 2, 'connection closed')), []);
    assert.equal(s.job('a')?.state, 'queued');
    assert.deepEqual(dispatches(s.registerWorker(worker('w2'), 3)), [['a', 'w2', 2]]);
  });

  test("a stale report from an older attempt changes nothing (fencing) and is only recorded in the job's history", () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 1 }), 0);
    s.submit('a', spec(), 0);
    s.workerLost('w1', 1, 'heartbeat timeout');
    s.registerWorker(worker('w2'), 2);
    const late = s.jobFinished('w1', 'a', 1, { exitCode: 0, signal: null, durationMs: 1 }, 3);
    assert.deepEqual(
      late.map((e) => (e.type === 'persist' ? [e.event.from, e.event.to, e.event.attempt] : e.type)),
      [['assigned', 'assigned', 1]],
    );
    assert.equal(s.job('a')?.state, 'assigned');
    assert.equal(s.job('a')?.attempt, 2);
  });

  test('a failed attempt with retries left is re-queued; with none left the job goes dead (the DLQ) with the reason', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 1 }), 0);
    s.submit('a', spec({ retries: 1 }), 0);
    const first = s.jobFinished('w1', 'a', 1, { exitCode: 3, signal: null, durationMs: 1 }, 1);
    assert.deepEqual(dispatches(first), [['a', 'w1', 2]]);
    const second = s.jobFinished('w1', 'a', 2, { exitCode: 3, signal: null, durationMs: 1 }, 2);
    const finished = second.find((e) => e.type === 'finished');
    assert.equal(finished?.type === 'finished' ? finished.job.state : null, 'dead');
    assert.equal(finished?.type === 'finished' ? finished.job.reason : null, 'exited with code 3');
  });

  test('a job without retries that fails ends failed', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 1 }), 0);
    s.submit('a', spec(), 0);
    const effects = s.jobFinished('w1', 'a', 1, { exitCode: 1, signal: null, durationMs: 1 }, 1);
    assert.ok(effects.some((e) => e.type === 'finished' && e.job.state === 'failed'));
  });

  test('a job whose worker is lost three times while running it is a poison pill and goes dead', () => {
    const s = new Scheduler();
    s.submit('pill', spec({ retries: 5 }), 0);
    let last: ReturnType<Scheduler['workerLost']> = [];
    for (let i = 0; i < 3; i++) {
      s.registerWorker(worker(`w${i}`, { slots: 1 }), i);
      last = s.workerLost(`w${i}`, i, 'crashed');
    }
    const dead = last.find((e) => e.type === 'finished');
    assert.equal(dead?.type === 'finished' ? dead.job.state : null, 'dead');
    assert.match(dead?.type === 'finished' ? (dead.job.reason ?? '') : '', /poison pill/);
  });

  test('cancelling a running job kills it on its worker and frees the slot', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 1 }), 0);
    s.submit('a', spec(), 0);
    s.submit('b', spec(), 0);
    const effects = s.cancel('a', 1);
    assert.ok(effects.some((e) => e.type === 'kill' && e.jobId === 'a' && e.attempt === 1));
    assert.deepEqual(dispatches(effects), [['b', 'w1', 1]]);
  });

  test('after a master restart a returning worker keeps the jobs it still runs; the others are re-queued', () => {
    const before = new Scheduler();
    before.registerWorker(worker('w1', { slots: 2 }), 0);
    before.submit('kept', spec(), 0);
    before.submit('lost', spec(), 0);
    const snapshot = [...before.activeJobs()].map((j) => ({ ...j }));

    const after = new Scheduler();
    after.recover(snapshot, [], new Map(), 10);
    const effects = after.registerWorker(worker('w1', { slots: 2, holding: [{ jobId: 'kept', attempt: 1 }] }), 11);
    assert.equal(after.job('kept')?.state, 'assigned');
    assert.deepEqual(dispatches(effects), [['lost', 'w1', 2]]);
  });

  test('after a master restart jobs of a worker that never returns are re-queued at the deadline', () => {
    const before = new Scheduler();
    before.registerWorker(worker('w1'), 0);
    before.submit('a', spec(), 0);
    const after = new Scheduler();
    after.recover(
      [...before.activeJobs()].map((j) => ({ ...j })),
      [],
      new Map(),
      10,
    );
    after.registerWorker(worker('w2'), 11);
    assert.deepEqual(dispatches(after.adoptionDeadlinePassed(40)), [['a', 'w2', 2]]);
  });

  test('a worker reporting an attempt the master does not expect is told to kill it', () => {
    const s = new Scheduler();
    const effects = s.registerWorker(worker('w1', { holding: [{ jobId: 'ghost', attempt: 4 }] }), 0);
    assert.deepEqual(effects, [{ type: 'kill', workerId: 'w1', jobId: 'ghost', attempt: 4 }]);
  });

  test('a draining worker receives no new work', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1'), 0);
    s.drainWorker('w1');
    assert.deepEqual(dispatches(s.submit('a', spec(), 1)), []);
  });
});
