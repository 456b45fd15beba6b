import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newJob, type JobSpec } from '../core/job.js';
import { EventFeed } from './event-feed.js';

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

function publish(feed: EventFeed, count: number): void {
  for (let i = 0; i < count; i++) {
    const job = newJob(`j${i}`, SPEC, i + 1, 1000 + i);
    feed.publish(job, { jobId: job.id, at: 1000 + i, from: null, to: 'queued', attempt: 0, workerId: null, detail: null });
  }
}

test('a client resumes after the last event id it saw, and is told to reload once the ring has moved past it', () => {
  const feed = new EventFeed(5);
  const seen: number[] = [];
  const stop = feed.subscribe((e) => seen.push(e.id));
  publish(feed, 3);
  assert.deepEqual(seen, [1, 2, 3]);
  assert.deepEqual(
    feed.since(1)?.map((e) => e.id),
    [2, 3],
  );
  assert.deepEqual(feed.since(3), []);
  assert.deepEqual(
    feed.since(0)?.map((e) => e.id),
    [1, 2, 3],
  );
  publish(feed, 4); // ids 4..7; the ring keeps 3..7
  assert.deepEqual(
    feed.since(2)?.map((e) => e.id),
    [3, 4, 5, 6, 7],
  );
  assert.equal(feed.since(1), null, 'event 2 has left the ring');
  assert.equal(feed.lastId, 7);
  stop();
  publish(feed, 1);
  assert.equal(seen.length, 7, 'an unsubscribed listener hears nothing more');
});

test('after many times its capacity, the ring still answers exactly its last events', () => {
  const feed = new EventFeed(5);
  publish(feed, 37);
  assert.deepEqual(
    feed.since(32)?.map((e) => e.id),
    [33, 34, 35, 36, 37],
  );
  assert.equal(feed.since(31), null, 'event 32 has left the ring');
});
