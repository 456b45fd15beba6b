import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from './scheduler.js';
import type { Effect } from './effects.js';
import { spec, worker } from './test-fixtures.js';

const dispatched = (effects: Effect[]): string[] => effects.flatMap((e) => (e.type === 'dispatch' ? [e.job.id] : []));
const wakes = (effects: Effect[]): number[] => effects.flatMap((e) => (e.type === 'wake' ? [e.at] : []));

test('a job with run_at waits for that time, and the later of its delay and its run_at wins', () => {
  const s = new Scheduler();
  s.registerWorker(worker('w', { slots: 4 }), 0);
  const at = s.submit('at', spec({ runAt: 5_000 }), 1_000);
  assert.deepEqual(dispatched(at), []);
  assert.deepEqual(wakes(at), [5_000]);
  s.submit('both', spec({ runAt: 2_000, delaySeconds: 10 }), 1_000);
  assert.equal(s.job('both')?.notBefore, 11_000);
  assert.match(s.waitingReason(s.job('at')!, 1_000) ?? '', /delayed: due in 4 s/);
  assert.deepEqual(dispatched(s.wake(4_999)), []);
  assert.deepEqual(dispatched(s.wake(5_000)), ['at']);
  assert.deepEqual(dispatched(s.wake(11_000)), ['both']);
});

test('a run_at already past runs at once', () => {
  const s = new Scheduler();
  s.registerWorker(worker('w'), 0);
  assert.deepEqual(dispatched(s.submit('late', spec({ runAt: 10 }), 1_000)), ['late']);
});

test('run_at survives a master restart: the recovered job keeps its due time', () => {
  const s = new Scheduler();
  s.submit('at', spec({ runAt: 60_000 }), 1_000);
  const stored = { ...s.job('at')! };
  const after = new Scheduler();
  after.registerWorker(worker('w'), 2_000);
  const effects = after.recover([stored], [], new Map(), 2_000);
  assert.deepEqual(wakes(effects), [60_000]);
  assert.deepEqual(dispatched(after.wake(60_000)), ['at']);
});

test('each wake arms the timer for the next due time, so a row of delays fires one after another with no other event', () => {
  const s = new Scheduler();
  s.registerWorker(worker('w', { slots: 10 }), 0);
  for (const ms of [10, 20, 30]) s.submit(`d${ms}`, spec({ delaySeconds: ms / 1000 }), 0);
  const first = s.wake(10);
  assert.deepEqual([dispatched(first), wakes(first)], [['d10'], [20]]);
  const second = s.wake(20);
  assert.deepEqual([dispatched(second), wakes(second)], [['d20'], [30]]);
  const last = s.wake(30);
  assert.deepEqual([dispatched(last), wakes(last)], [['d30'], []]);
});
