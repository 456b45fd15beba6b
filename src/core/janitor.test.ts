import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { overdueJobs, ReportLedger } from './janitor.js';
import { Scheduler } from './scheduler.js';
import { spec, worker } from './test-fixtures.js';

function running(s: Scheduler, id: string, timeoutSeconds: number, retries: number, at: number): void {
  s.submit(id, spec({ timeoutSeconds, retries }), at);
  const job = s.job(id);
  assert.ok(job?.workerId);
  s.jobStarted(job.workerId, id, job.attempt, at);
}

describe('the janitor (pure part)', () => {
  test('a running job is overdue only once past its timeout and the grace', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 4 }), 0);
    running(s, 'slow', 10, 0, 1000);
    running(s, 'forever', 0, 0, 1000);
    assert.deepEqual(
      overdueJobs(s.activeJobs(), 1000 + 10_000 + 5_000, 5_000).map((j) => j.id),
      [],
    );
    assert.deepEqual(
      overdueJobs(s.activeJobs(), 1000 + 10_000 + 5_001, 5_000).map((j) => j.id),
      ['slow'],
    );
  });

  test('reaping an overdue job kills its attempt on its worker and applies the retry policy', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1'), 0);
    running(s, 'slow', 1, 1, 0);
    const effects = s.reapOverdue('slow', 10_000, 'janitor: past its timeout');
    const kill = effects.find((e) => e.type === 'kill');
    assert.deepEqual(kill, { type: 'kill', workerId: 'w1', jobId: 'slow', attempt: 1, reason: 'janitor: past its timeout' });
    const history = effects.flatMap((e) => (e.type === 'persist' ? [e.event.detail] : []));
    assert.ok(history.includes('attempt 1 failed: janitor: past its timeout'), history.join(' | '));
    // Retried: dispatched again as attempt 2.
    assert.ok(effects.some((e) => e.type === 'dispatch' && e.job.attempt === 2));
    // Without retries left, it ends with the janitor's reason.
    s.jobStarted('w1', 'slow', 2, 10_001);
    s.reapOverdue('slow', 20_000, 'janitor: past its timeout again');
    assert.equal(s.job('slow'), undefined);
  });

  test('a job missing from two heartbeats in a row is unreported; one miss is a dispatch on its way', () => {
    const ledger = new ReportLedger();
    const expected = new Map([
      ['a', 1],
      ['b', 3],
    ]);
    assert.deepEqual(ledger.heartbeat(expected, [{ jobId: 'b', attempt: 3 }]).unreported, []);
    assert.deepEqual(
      ledger.heartbeat(expected, [
        { jobId: 'a', attempt: 1 },
        { jobId: 'b', attempt: 3 },
      ]).unreported,
      [],
    );
    assert.deepEqual(ledger.heartbeat(expected, [{ jobId: 'b', attempt: 3 }]).unreported, []);
    assert.deepEqual(ledger.heartbeat(expected, [{ jobId: 'b', attempt: 3 }]).unreported, ['a']);
  });

  test('heartbeats the worker sent before it received a dispatch never count against that job', () => {
    const ledger = new ReportLedger();
    ledger.dispatched('a');
    ledger.dispatched('b');
    const expected = new Map([
      ['a', 1],
      ['b', 1],
    ]);
    // A busy master reads three heartbeats at once, all sent when only the first dispatch had arrived.
    for (let i = 0; i < 3; i++) assert.deepEqual(ledger.heartbeat(expected, [{ jobId: 'a', attempt: 1 }], 1).unreported, []);
    // Once the worker had both dispatches, two heartbeats without b mean it lost b.
    assert.deepEqual(ledger.heartbeat(expected, [{ jobId: 'a', attempt: 1 }], 2).unreported, []);
    assert.deepEqual(ledger.heartbeat(expected, [{ jobId: 'a', attempt: 1 }], 2).unreported, ['b']);
  });

  test('a job adopted at registration (never dispatched on this connection) is checked from the first heartbeat', () => {
    const ledger = new ReportLedger();
    const expected = new Map([['adopted', 2]]);
    assert.deepEqual(ledger.heartbeat(expected, [], 0).unreported, []);
    assert.deepEqual(ledger.heartbeat(expected, [], 0).unreported, ['adopted']);
  });

  test('an attempt a worker holds that the master did not place there is stale', () => {
    const ledger = new ReportLedger();
    const { stale } = ledger.heartbeat(new Map([['a', 2]]), [
      { jobId: 'a', attempt: 1 },
      { jobId: 'gone', attempt: 4 },
    ]);
    assert.deepEqual(stale, [
      { jobId: 'a', attempt: 1 },
      { jobId: 'gone', attempt: 4 },
    ]);
  });

  test('an unreported job runs again, counted as a lost attempt', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1'), 0);
    s.registerWorker(worker('w2'), 0);
    running(s, 'lost', 0, 0, 0);
    const effects = s.reapUnreported('lost', 5000, 'janitor: worker w1 stopped reporting the job');
    assert.ok(effects.some((e) => e.type === 'kill'));
    assert.ok(effects.some((e) => e.type === 'dispatch' && e.job.attempt === 2));
    assert.equal(s.job('lost')?.crashes, 1);
  });
});
