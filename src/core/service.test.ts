import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from './scheduler.js';
import type { Effect } from './effects.js';
import type { ServiceSpec } from './job.js';
import { spec, worker } from './test-fixtures.js';

const policy: ServiceSpec = { port: null, restart: 'always', maxRestarts: 5, windowSeconds: 60 };

function dispatched(effects: Effect[]): Array<[string, string, number]> {
  return effects.flatMap((e) => (e.type === 'dispatch' ? [[e.job.id, e.workerId, e.job.attempt] as [string, string, number]] : []));
}

function dagState(effects: Effect[]): string | undefined {
  const done = effects.find((e) => e.type === 'dagFinished');
  return done?.type === 'dagFinished' ? done.dag.state : undefined;
}

describe('services', () => {
  test('a ready service lets its children run and its DAG succeed while it keeps running', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w', { slots: 4 }), 0);
    s.createDag('d', 'svc', 0);
    s.submit('api', spec({ dagId: 'd', service: policy }), 0);
    s.submit('client', spec({ dagId: 'd', parents: ['api'] }), 0);
    assert.deepEqual(dispatched(s.jobStarted('w', 'api', 1, 1)), []);
    assert.equal(s.job('client')?.state, 'pending');
    assert.deepEqual(dispatched(s.serviceReady('w', 'api', 1, 2)), [['client', 'w', 1]]);
    const done = s.jobFinished('w', 'client', 1, { exitCode: 0, signal: null, durationMs: 1 }, 3);
    assert.equal(dagState(done), 'succeeded');
    assert.equal(s.job('api')?.state, 'running');
  });

  test('a service rescheduled after its worker died is not counted twice when it is ready again', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1'), 0);
    s.createDag('d', 'svc', 0);
    s.submit('api', spec({ dagId: 'd', service: policy }), 0);
    s.submit('keep', spec({ dagId: 'd', parents: ['api'] }), 0);
    s.serviceReady('w1', 'api', 1, 1);
    s.registerWorker(worker('w2'), 2);
    const moved = s.workerLost('w1', 3, 'gone');
    assert.ok(dispatched(moved).some(([id, w, attempt]) => id === 'api' && w === 'w2' && attempt === 2));
    const again = s.serviceReady('w2', 'api', 2, 4);
    assert.equal(again.filter((e) => e.type === 'persistDag').length, 0);
    assert.equal(s.dag('d')?.unfinished, 1, 'only the other job is still unfinished');
  });

  test('a service that comes up ready after each lost worker is moved again and again, never a poison pill', () => {
    const s = new Scheduler();
    for (const id of ['w1', 'w2', 'w3', 'w4', 'w5']) s.registerWorker(worker(id), 0);
    s.submit('api', spec({ service: policy }), 0);
    let on = s.job('api')?.workerId ?? '';
    for (let attempt = 1; attempt <= 4; attempt++) {
      s.serviceReady(on, 'api', attempt, attempt * 10);
      s.workerLost(on, attempt * 10 + 1, 'machine gone');
      assert.equal(s.job('api')?.state, 'assigned', `after losing worker ${attempt} time(s) the service is placed again`);
      on = s.job('api')?.workerId ?? '';
    }
  });

  test('a service whose worker dies three times before it is ever ready is a poison pill', () => {
    const s = new Scheduler();
    for (const id of ['w1', 'w2', 'w3']) s.registerWorker(worker(id), 0);
    s.submit('api', spec({ service: policy }), 0);
    let last: ReturnType<Scheduler['workerLost']> = [];
    for (let lost = 1; lost <= 3; lost++) last = s.workerLost(s.job('api')?.workerId ?? '', lost, 'killed while starting');
    const dead = last.find((e) => e.type === 'finished');
    assert.equal(dead?.type === 'finished' ? dead.job.state : null, 'dead');
    assert.match(dead?.type === 'finished' ? (dead.job.reason ?? '') : '', /poison pill/);
  });

  test('stop kills the service and it stays stopped; restart runs a new attempt', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w'), 0);
    s.submit('api', spec({ service: policy }), 0);
    const restarted = s.restartService('api', 1);
    assert.ok(restarted.some((e) => e.type === 'kill' && e.attempt === 1));
    assert.deepEqual(dispatched(restarted), [['api', 'w', 2]]);
    const stopped = s.stopService('api', 2);
    assert.ok(stopped.some((e) => e.type === 'kill' && e.attempt === 2));
    assert.ok(stopped.some((e) => e.type === 'finished' && e.job.state === 'stopped'));
    assert.throws(() => s.stopService('api', 3), /no running service api/);
  });

  test('a service whose supervisor gave up (crash loop) goes dead with the reason', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w'), 0);
    s.submit('api', spec({ service: policy }), 0);
    const effects = s.jobFinished('w', 'api', 1, { exitCode: 1, signal: null, durationMs: 5, error: 'crash loop: 6 restarts within 60 s' }, 1);
    const dead = effects.find((e) => e.type === 'finished');
    assert.equal(dead?.type === 'finished' ? dead.job.state : null, 'dead');
    assert.match(dead?.type === 'finished' ? (dead.job.reason ?? '') : '', /crash loop/);
  });

  test('after a master restart, a child of a ready service does not wait for it', () => {
    const before = new Scheduler();
    before.registerWorker(worker('w', { slots: 4 }), 0);
    before.createDag('d', 'svc', 0);
    before.submit('api', spec({ dagId: 'd', service: policy }), 0);
    before.submit('other', spec({ dagId: 'd' }), 0);
    before.serviceReady('w', 'api', 1, 1);
    const snapshot = [...before.activeJobs()].map((j) => ({ ...j }));
    const after = new Scheduler();
    after.recover(snapshot, [{ ...before.dag('d')! }], new Map(), 5);
    after.registerWorker(
      worker('w', {
        slots: 4,
        holding: [
          { jobId: 'api', attempt: 1 },
          { jobId: 'other', attempt: 1 },
        ],
      }),
      6,
    );
    assert.deepEqual(dispatched(after.submit('late', spec({ dagId: 'd', parents: ['api'] }), 7)), [['late', 'w', 1]]);
  });
});

test('a service handed back by a draining worker runs again on another worker', () => {
  const s = new Scheduler();
  s.registerWorker(worker('w1'), 0);
  s.submit('api', spec({ service: policy }), 0);
  s.drainWorker('w1');
  s.registerWorker(worker('w2'), 1);
  assert.deepEqual(dispatched(s.handBack('w1', 'api', 1, 2)), [['api', 'w2', 2]]);
});
