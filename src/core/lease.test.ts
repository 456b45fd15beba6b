import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from './scheduler.js';
import { leaseMsFor } from './lease.js';
import type { Effect } from './effects.js';
import { spec, worker } from './test-fixtures.js';

const OK = { exitCode: 0, signal: null, durationMs: 10 };

function dispatched(effects: readonly Effect[]): Array<[string, string, number]> {
  return effects.flatMap((e) => (e.type === 'dispatch' ? [[e.job.id, e.workerId, e.job.attempt] as [string, string, number]] : []));
}

function details(effects: readonly Effect[]): string[] {
  return effects.flatMap((e) => (e.type === 'persist' && e.event.detail !== null ? [e.event.detail] : []));
}

describe('the lease rule', () => {
  test('the lease is shorter than the heartbeat timeout by a margin of a tenth, at least 0.5 s and at most 5 s', () => {
    assert.equal(leaseMsFor(30_000), 27_000);
    assert.equal(leaseMsFor(3_000), 2_500);
    assert.equal(leaseMsFor(120_000), 115_000);
  });

  test('a worker whose connection drops keeps its attempts (no new work) until its heartbeat deadline, then they run elsewhere', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 1 }), 0);
    s.submit('a', spec(), 1);
    s.registerWorker(worker('w2', { slots: 1 }), 2);
    const dropped = s.workerUnreachable('w1', 3, 'connection closed');
    assert.equal(dropped.holding, true);
    assert.deepEqual(dropped.effects, []);
    assert.equal(s.job('a')?.workerId, 'w1');
    assert.equal(s.worker('w1')?.health, 'unreachable');
    assert.deepEqual(dispatched(s.submit('b', spec(), 4)), [['b', 'w2', 1]], 'new work goes to a reachable worker');
    assert.deepEqual(dispatched(s.workerLost('w1', 5, 'no heartbeat')), []);
    assert.equal(s.job('a')?.state, 'queued');
  });

  test('a worker holding nothing is lost as soon as its connection drops', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1'), 0);
    assert.equal(s.workerUnreachable('w1', 1, 'connection closed').holding, false);
    assert.equal(s.worker('w1')?.health, 'dead');
  });

  test("a result of a superseded attempt changes nothing and is recorded in the job's history", () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 1 }), 0);
    s.submit('a', spec(), 1);
    s.registerWorker(worker('w2', { slots: 1 }), 2);
    assert.deepEqual(dispatched(s.workerLost('w1', 3, 'no heartbeat')), [['a', 'w2', 2]]);
    const late = s.jobFinished('w1', 'a', 1, OK, 4);
    assert.deepEqual(details(late), ['result of superseded attempt 1 from worker w1: succeeded (the job is at attempt 2, assigned)']);
    assert.equal(s.job('a')?.state, 'assigned');
    assert.equal(s.job('a')?.workerId, 'w2');
  });

  test("an attempt killed because its worker's lease ran out runs again without counting towards a poison pill", () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 1 }), 0);
    s.submit('a', spec(), 1);
    for (let attempt = 1; attempt <= 4; attempt++) {
      const effects = s.jobFinished('w1', 'a', attempt, { exitCode: null, signal: 'SIGKILL', durationMs: 5, leaseExpired: true }, 10 * attempt);
      assert.deepEqual(dispatched(effects), [['a', 'w1', attempt + 1]]);
    }
    assert.equal(s.job('a')?.crashes, 0);
  });
});
