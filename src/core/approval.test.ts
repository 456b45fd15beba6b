import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from './scheduler.js';
import type { Effect } from './effects.js';
import { spec, worker } from './test-fixtures.js';

const gateSpec = (timeoutSeconds = 0) => spec({ dagId: 'd', approval: { message: 'ship it?', timeoutSeconds } });

function dispatched(effects: Effect[]): string[] {
  return effects.flatMap((e) => (e.type === 'dispatch' ? [e.job.id] : []));
}

function setup(): Scheduler {
  const s = new Scheduler();
  s.registerWorker(worker('w', { slots: 4 }), 0);
  s.createDag('d', 'release', 0);
  return s;
}

describe('human approval', () => {
  test('a job that needs approval waits pending, says why, and runs once approved', () => {
    const s = setup();
    assert.deepEqual(dispatched(s.submit('deploy', gateSpec(), 0)), []);
    assert.equal(s.job('deploy')?.state, 'pending');
    assert.match(s.waitingReason(s.job('deploy')!, 0) ?? '', /awaiting approval: ship it\?.*titan approve deploy/);
    assert.deepEqual(dispatched(s.approve('deploy', 'alice', 5)), ['deploy']);
    assert.equal(s.job('deploy')?.reason, null);
  });

  test('approval is asked only once the parents are done', () => {
    const s = setup();
    s.submit('build', spec({ dagId: 'd' }), 0);
    s.submit('deploy', spec({ dagId: 'd', parents: ['build'], approval: { message: 'go?', timeoutSeconds: 0 } }), 0);
    assert.throws(() => s.approve('deploy', 'alice', 1), /not awaiting approval.*parents are not done/);
    s.jobFinished('w', 'build', 1, { exitCode: 0, signal: null, durationMs: 1 }, 2);
    assert.deepEqual(dispatched(s.approve('deploy', 'alice', 3)), ['deploy']);
  });

  test('a rejected job fails and its dependants are skipped', () => {
    const s = setup();
    s.submit('gate', gateSpec(), 0);
    s.submit('after', spec({ dagId: 'd', parents: ['gate'] }), 0);
    const effects = s.reject('gate', 'bob', 'not today', 1);
    const states = Object.fromEntries(effects.flatMap((e) => (e.type === 'finished' ? [[e.job.id, [e.job.state, e.job.reason]]] : [])));
    assert.deepEqual(states, { gate: ['failed', 'rejected by bob: not today'], after: ['skipped', '1 parent(s) did not succeed'] });
  });

  test('an approval not given before its timeout fails the job', () => {
    const s = setup();
    const effects = s.submit('gate', gateSpec(60), 1000);
    assert.ok(effects.some((e) => e.type === 'wake' && e.at === 61_000));
    assert.deepEqual(s.wake(60_999), [{ type: 'wake', at: 61_000 }], 'woken early: nothing happens but the timer is armed again');
    const timedOut = s.wake(61_000).find((e) => e.type === 'finished');
    assert.equal(timedOut?.type === 'finished' ? timedOut.job.reason : null, 'approval timed out after 60 s');
  });

  test('a restart keeps a job awaiting approval, with the same deadline', () => {
    const before = setup();
    before.submit('gate', gateSpec(60), 1000);
    const snapshot = [...before.activeJobs()].map((j) => ({ ...j }));
    const after = new Scheduler();
    const effects = after.recover(snapshot, [{ ...before.dag('d')! }], new Map(), 30_000);
    assert.ok(effects.some((e) => e.type === 'wake' && e.at === 61_000));
    after.registerWorker(worker('w'), 30_001);
    assert.deepEqual(dispatched(after.approve('gate', 'carol', 30_002)), ['gate']);
  });
});
