import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from './scheduler.js';
import type { Effect } from './effects.js';
import { spec, worker } from './test-fixtures.js';

function dispatched(effects: readonly Effect[]): string[] {
  return effects.flatMap((e) => (e.type === 'dispatch' ? [e.job.id] : []));
}

describe('held admissions (a large batch submitted a slice at a time)', () => {
  test('no job of a held admission is placed, even when a slot frees up between slices; the release places them', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w', { slots: 4 }), 0);
    s.createDag('d', 'held', 0);
    const admission = s.holdAdmission();
    const first = s.submit('d.root', spec({ dagId: 'd' }), 0, undefined, admission);
    assert.deepEqual(dispatched(first), []);
    assert.equal(s.job('d.root')?.state, 'queued', 'admitted and persisted as queued, only in no queue');
    // Between slices other events run: a job outside the admission is placed as usual.
    assert.deepEqual(dispatched(s.submit('other', spec(), 1)), ['other']);
    assert.deepEqual(dispatched(s.jobFinished('w', 'other', 1, { exitCode: 0, signal: null, durationMs: 1 }, 2)), [], 'a freed slot places nothing held');
    s.submit('d.child', spec({ dagId: 'd', parents: ['d.root'] }), 3, undefined, admission);
    const released = s.releaseAdmission(admission, 4);
    assert.deepEqual(dispatched(released), ['d.root']);
    assert.equal(s.job('d.child')?.state, 'pending');
  });

  test('a job held for its run_at is held for it after the release, not before', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w'), 0);
    s.createDag('d', 'later', 0);
    const admission = s.holdAdmission();
    s.submit('d.a', spec({ dagId: 'd', runAt: 1_000 }), 0, undefined, admission);
    const released = s.releaseAdmission(admission, 10);
    assert.deepEqual(dispatched(released), []);
    assert.ok(released.some((e) => e.type === 'wake' && e.at === 1_000));
    assert.deepEqual(dispatched(s.wake(1_000)), ['d.a']);
  });

  test('a held job cancelled before the release is not placed by it', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w'), 0);
    s.createDag('d', 'cancelled', 0);
    const admission = s.holdAdmission();
    s.submit('d.a', spec({ dagId: 'd' }), 0, undefined, admission);
    s.submit('d.b', spec({ dagId: 'd' }), 0, undefined, admission);
    s.cancel('d.a', 1);
    assert.deepEqual(dispatched(s.releaseAdmission(admission, 2)), ['d.b']);
  });

  test('two admissions are held and released apart; a released one parks nothing more', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w', { slots: 4 }), 0);
    const one = s.holdAdmission();
    const two = s.holdAdmission();
    s.submit('a', spec(), 0, undefined, one);
    s.submit('b', spec(), 0, undefined, two);
    assert.deepEqual(dispatched(s.releaseAdmission(two, 1)), ['b']);
    assert.deepEqual(dispatched(s.releaseAdmission(one, 1)), ['a']);
    assert.throws(() => s.submit('c', spec(), 2, undefined, one), /admission admission-1 is not held/);
  });
});
