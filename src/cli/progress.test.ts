import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobState } from '../core/job.js';
import { countJobs, phaseLine, progressLine, runPhase, summaryLine } from './progress.js';

const jobs = (spec: Partial<Record<JobState, number>>): Array<{ state: JobState }> =>
  Object.entries(spec).flatMap(([state, n]) => Array.from({ length: n }, () => ({ state: state as JobState })));

test('every job state falls in exactly one count', () => {
  const c = countJobs(jobs({ pending: 3, queued: 2, assigned: 1, running: 4, succeeded: 5, failed: 1, dead: 1, cancelled: 2, stopped: 1, skipped: 6 }));
  assert.deepEqual(c, { total: 26, succeeded: 5, failed: 2, cancelled: 3, skipped: 6, running: 5, queued: 5 });
});

test('the live line shows a bar of finished jobs, done of total, the non-zero counts and the time', () => {
  const c = countJobs(jobs({ succeeded: 500, failed: 2, running: 8, queued: 490 }));
  assert.equal(progressLine(c, 12_300, 10), '[#####.....] 500/1000 done · 8 running · 490 queued · 2 failed · 12.3s');
  assert.equal(progressLine(countJobs(jobs({ queued: 1, pending: 1001 })), 400, 10), '[..........] 0/1002 done · 1002 queued · 400ms');
  assert.equal(progressLine(countJobs(jobs({ succeeded: 3 })), 2_000, 4), '[####] 3/3 done · 2.0s');
  assert.equal(progressLine(countJobs([]), 0, 4), '[####] 0/0 done · 0ms');
});

test('the phase changes with the run, not with each job: a 1 → 1000 → 1 run has three', () => {
  const phases = new Set<string>();
  const seen = (spec: Partial<Record<JobState, number>>): void => void phases.add(runPhase('running', countJobs(jobs(spec))));
  seen({ queued: 1, pending: 1001 });
  seen({ running: 1, pending: 1001 });
  for (let done = 1; done <= 1001; done += 100) seen({ succeeded: done, running: 4, queued: 997 - done > 0 ? 997 - done : 0 });
  seen({ succeeded: 1001, running: 1 });
  assert.deepEqual([...phases], ['waiting', 'running']);
  assert.equal(runPhase('running', countJobs(jobs({ succeeded: 3, failed: 1, running: 2 }))), 'running, with failures');
  assert.equal(runPhase('succeeded', countJobs(jobs({ succeeded: 3 }))), 'succeeded');
  assert.equal(runPhase('cancelled', countJobs(jobs({ cancelled: 3 }))), 'cancelled');
});

test('the pipe line and the summary name the counts in words', () => {
  const c = countJobs(jobs({ succeeded: 10, running: 2, queued: 5, failed: 1 }));
  assert.equal(phaseLine('DAG d1', 'running, with failures', c, 65_000), 'DAG d1: running, with failures (10/18 done, 2 running, 5 queued, 1 failed; 1m5s)');
  assert.equal(summaryLine(countJobs(jobs({ succeeded: 1000, failed: 1, skipped: 1 })), 3_500), '1000 succeeded · 1 failed · 1 skipped in 3.5s');
});
