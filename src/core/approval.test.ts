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

describe('decision-only gates (the original Titan hitl_message)', () => {
  const decisionGate = (timeoutSeconds = 0) =>
    spec({ dagId: 'd', parents: ['checked'], approval: { message: 'risk ok?', timeoutSeconds, decisionOnly: true } });

  function gated(timeoutSeconds = 0): Scheduler {
    const s = setup();
    s.submit('checked', spec({ dagId: 'd' }), 0);
    s.submit('gate', decisionGate(timeoutSeconds), 0);
    s.submit('after', spec({ dagId: 'd', parents: ['gate'] }), 0);
    return s;
  }

  test('waits for a decision only once the gated job succeeded', () => {
    const s = gated();
    assert.throws(() => s.approve('gate', 'alice', 1), /not awaiting approval/);
    s.jobFinished('w', 'checked', 1, { exitCode: 0, signal: null, durationMs: 1 }, 2);
    assert.match(s.waitingReason(s.job('gate')!, 3) ?? '', /awaiting approval: risk ok\?/);
  });

  test('approval succeeds the gate without running anything, and its dependants run', () => {
    const s = gated();
    s.jobFinished('w', 'checked', 1, { exitCode: 0, signal: null, durationMs: 1 }, 2);
    const effects = s.approve('gate', 'alice', 3);
    assert.deepEqual(dispatched(effects), ['after'], 'the gate itself is never dispatched');
    const gate = effects.find((e) => e.type === 'finished' && e.job.id === 'gate');
    assert.deepEqual(gate?.type === 'finished' ? [gate.job.state, gate.job.reason, gate.job.attempt] : null, ['succeeded', 'approved by alice', 0]);
  });

  test('a failed gated job skips its gate: nothing is asked', () => {
    const s = gated();
    const effects = s.jobFinished('w', 'checked', 1, { exitCode: 1, signal: null, durationMs: 1 }, 2);
    const states = Object.fromEntries(effects.flatMap((e) => (e.type === 'finished' ? [[e.job.id, e.job.state]] : [])));
    assert.deepEqual(states, { checked: 'failed', gate: 'skipped', after: 'skipped' });
  });

  test('expiry fails the gate like a rejection and skips its dependants', () => {
    const s = gated(30);
    s.jobFinished('w', 'checked', 1, { exitCode: 0, signal: null, durationMs: 1 }, 1000);
    const effects = s.wake(31_000);
    const states = Object.fromEntries(effects.flatMap((e) => (e.type === 'finished' ? [[e.job.id, [e.job.state, e.job.reason]]] : [])));
    assert.deepEqual(states, { gate: ['failed', 'approval timed out after 30 s'], after: ['skipped', '1 parent(s) did not succeed'] });
  });

  test('retrying a rejected gate asks again instead of letting it pass', () => {
    const s = gated();
    s.jobFinished('w', 'checked', 1, { exitCode: 0, signal: null, durationMs: 1 }, 2);
    const rejected = s.reject('gate', 'bob', 'no', 3).find((e) => e.type === 'finished' && e.job.id === 'gate');
    assert.ok(rejected?.type === 'finished');
    const retried = s.retry({ ...rejected.job }, s.dag('d'), 4);
    assert.deepEqual(dispatched(retried), []);
    assert.equal(s.job('gate')?.state, 'pending');
    assert.match(s.waitingReason(s.job('gate')!, 5) ?? '', /awaiting approval/);
    assert.deepEqual(dispatched(s.approve('gate', 'carol', 6)), []);
    assert.equal(s.job('gate'), undefined, 'final jobs leave memory');
  });
});
