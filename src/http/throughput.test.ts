import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newJob, type JobSpec, type JobState } from '../core/job.js';
import { EventFeed } from '../master/event-feed.js';
import { Throughput } from './throughput.js';

const SPEC: JobSpec = {
  name: 'n',
  run: { kind: 'command', command: 'true' },
  args: [],
  env: {},
  requirement: ['GENERAL'],
  priority: 0,
  retries: 0,
  timeoutSeconds: 0,
};
const MINUTE = 60_000;

test('finished jobs are counted per minute over the last hour, failures and dead apart from successes', () => {
  const feed = new EventFeed();
  const throughput = new Throughput(feed);
  const finish = (at: number, to: JobState): void => {
    const job = newJob(`j${at}`, SPEC, 1, at);
    feed.publish(job, { jobId: job.id, at, from: 'running', to, attempt: 1, workerId: 'w', detail: null });
  };
  const base = 100 * 60 * MINUTE;
  finish(base - 70 * MINUTE, 'succeeded'); // over an hour before "now": not shown
  finish(base + 1000, 'succeeded');
  finish(base + 2000, 'failed');
  finish(base + 3000, 'dead');
  finish(base + MINUTE + 5, 'succeeded');
  finish(base + MINUTE + 6, 'running');
  const hour = throughput.lastHour(base + MINUTE + 10);
  assert.equal(hour.length, 60);
  assert.deepEqual(hour.at(-1), { at: base + MINUTE, succeeded: 1, failed: 0 });
  assert.deepEqual(hour.at(-2), { at: base, succeeded: 1, failed: 2 });
  assert.equal(
    hour.reduce((n, m) => n + m.succeeded + m.failed, 0),
    4,
  );
  throughput.close();
});
