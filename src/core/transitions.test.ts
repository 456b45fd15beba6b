import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transition, canTransition } from './transitions.js';
import { JOB_STATES, FINAL_STATES, newJob, type Job } from './job.js';
import { spec } from './test-fixtures.js';
import { TitanError } from '../common/errors.js';

function jobIn(state: Job['state']): Job {
  return { ...newJob('j', spec(), 1, 0), state };
}

test('an illegal transition throws naming both states', () => {
  assert.throws(
    () => transition(jobIn('succeeded'), 'running'),
    (err: unknown) => {
      return err instanceof TitanError && err.code === 'E_ILLEGAL_TRANSITION' && /from succeeded to running/.test(err.message);
    },
  );
});

test('succeeded is the only state nothing leaves; every other final state can only be re-queued or, for a retried approval gate, wait for a decision again', () => {
  for (const from of JOB_STATES) {
    const exits = JOB_STATES.filter((to) => canTransition(from, to));
    if (from === 'succeeded') assert.deepEqual(exits, []);
    else if (FINAL_STATES.has(from))
      assert.deepEqual(
        exits.filter((to) => to !== 'pending'),
        ['queued'],
      );
    else assert.ok(exits.length > 0, `${from} must lead somewhere`);
  }
});
