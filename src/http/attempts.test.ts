import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobView } from '../protocol/views.js';
import { attemptsOf } from './routes/jobs.js';

test("a job's attempts are read from its history: worker, start, end and outcome of each", () => {
  const job = { attempt: 2 } as JobView;
  const attempts = attemptsOf(job, [
    { at: 1, from: null, to: 'queued', attempt: 0, workerId: null, detail: 'submitted' },
    { at: 2, from: 'queued', to: 'assigned', attempt: 1, workerId: 'w1', detail: null },
    { at: 3, from: 'assigned', to: 'running', attempt: 1, workerId: 'w1', detail: null },
    { at: 9, from: 'running', to: 'queued', attempt: 1, workerId: 'w1', detail: 'exited with code 1; retry 1 of 1' },
    { at: 10, from: 'queued', to: 'assigned', attempt: 2, workerId: 'w2', detail: null },
    { at: 11, from: 'assigned', to: 'running', attempt: 2, workerId: 'w2', detail: null },
  ]);
  assert.deepEqual(attempts, [
    { attempt: 1, workerId: 'w1', startedAt: 3, finishedAt: 9, state: 'requeued', detail: 'exited with code 1; retry 1 of 1' },
    { attempt: 2, workerId: 'w2', startedAt: 11, finishedAt: null, state: 'running', detail: null },
  ]);
});
