import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from './scheduler.js';
import type { Effect } from './effects.js';
import { placeJob } from './placement.js';
import { parseMemoryMb } from './resources.js';
import { spec, worker } from './test-fixtures.js';

function placed(effects: Effect[]): Array<[string, string]> {
  return effects.flatMap((e) => (e.type === 'dispatch' ? [[e.job.id, e.workerId] as [string, string]] : []));
}

describe('placement with resources', () => {
  test('memory is reserved while a job holds it: a second job that does not fit waits though slots are free', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 4, resources: { cpus: 4, memoryMb: 1024, gpus: 0 } }), 0);
    assert.deepEqual(placed(s.submit('a', spec({ resources: { memoryMb: 700 } }), 1)), [['a', 'w1']]);
    assert.deepEqual(placed(s.submit('b', spec({ resources: { memoryMb: 700 } }), 2)), []);
    const job = s.job('b');
    assert.ok(job !== undefined);
    assert.match(s.waitingReason(job, 3) ?? '', /waiting for a free slot and memory=700M on 1 worker\(s\).*w1 has 324M memory unreserved/);
    // A job asking for nothing still runs on the free slots.
    assert.deepEqual(placed(s.submit('plain', spec(), 3)), [['plain', 'w1']]);
    // When a finishes, its memory is released and b runs.
    const done = s.jobFinished('w1', 'a', 1, { exitCode: 0, signal: null, durationMs: 5 }, 4);
    assert.deepEqual(placed(done), [['b', 'w1']]);
  });

  test('CPU and GPU count too, and the job goes to the worker with room rather than the least loaded one', () => {
    const s = new Scheduler();
    s.registerWorker(worker('small', { slots: 8, resources: { cpus: 1, memoryMb: 4096, gpus: 0 } }), 0);
    s.registerWorker(worker('big', { slots: 8, tags: ['GPU'], resources: { cpus: 8, memoryMb: 4096, gpus: 2 } }), 0);
    assert.deepEqual(placed(s.submit('busy', spec(), 1)), [['busy', 'small']]);
    assert.deepEqual(placed(s.submit('c', spec({ resources: { cpu: 2 } }), 2)), [['c', 'big']]);
    assert.deepEqual(placed(s.submit('g1', spec({ resources: { gpu: 2 } }), 3)), [['g1', 'big']]);
    assert.deepEqual(placed(s.submit('g2', spec({ resources: { gpu: 1 } }), 4)), []);
  });

  test('a job larger than every live worker is reported as never fitting, and does not block smaller jobs behind it', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { slots: 2, resources: { cpus: 2, memoryMb: 1024, gpus: 0 } }), 0);
    assert.deepEqual(placed(s.submit('huge', spec({ resources: { memoryMb: 64 * 1024 } }), 1)), []);
    const huge = s.job('huge');
    assert.ok(huge !== undefined);
    assert.match(s.waitingReason(huge, 2) ?? '', /cannot fit any live worker: it asks for memory=64G.*w1 has 1G memory in all/);
    const outcome = placeJob(huge.spec, [s.worker('w1')!]);
    assert.deepEqual(outcome.placed ? null : outcome.everPlaceable, false);
    assert.deepEqual(placed(s.submit('small', spec({ resources: { memoryMb: 100 } }), 3)), [['small', 'w1']]);
    // A big enough worker arriving takes it.
    assert.deepEqual(placed(s.registerWorker(worker('w2', { resources: { cpus: 2, memoryMb: 65536, gpus: 0 } }), 4)), [['huge', 'w2']]);
  });

  test('a job asking for a driver runs only on workers offering it, and says so while none does', () => {
    const s = new Scheduler();
    s.registerWorker(worker('plain'), 0);
    assert.deepEqual(placed(s.submit('boxed', spec({ driver: 'sandbox' }), 1)), []);
    const job = s.job('boxed');
    assert.ok(job !== undefined);
    assert.match(s.waitingReason(job, 2) ?? '', /offering the sandbox driver.*--driver sandbox/);
    assert.deepEqual(placed(s.registerWorker(worker('boxer', { drivers: ['process', 'sandbox'] }), 3)), [['boxed', 'boxer']]);
  });

  test('a worker lost releases what its jobs reserved; re-registering with a held job reserves it again', () => {
    const s = new Scheduler();
    s.registerWorker(worker('w1', { resources: { cpus: 2, memoryMb: 1000, gpus: 0 } }), 0);
    s.submit('a', spec({ resources: { memoryMb: 800 } }), 1);
    s.workerLost('w1', 2, 'test');
    assert.deepEqual(s.worker('w1')?.used, { cpus: 0, memoryMb: 0, gpus: 0 });
    s.registerWorker(worker('w1', { resources: { cpus: 2, memoryMb: 1000, gpus: 0 } }), 3);
    assert.equal(s.worker('w1')?.used.memoryMb, 800);
    const job = s.job('a');
    assert.ok(job !== undefined);
    s.registerWorker(worker('w1', { resources: { cpus: 2, memoryMb: 1000, gpus: 0 }, holding: [{ jobId: 'a', attempt: job.attempt }] }), 4);
    assert.equal(s.worker('w1')?.used.memoryMb, 800);
  });
});

describe('memory sizes', () => {
  test('numbers are MiB; text takes the usual units', () => {
    assert.equal(parseMemoryMb(512), 512);
    assert.equal(parseMemoryMb('256M'), 256);
    assert.equal(parseMemoryMb('256Mi'), 256);
    assert.equal(parseMemoryMb('1.5G'), 1536);
    assert.equal(parseMemoryMb('2gb'), 2048);
    assert.equal(parseMemoryMb('1048576K'), 1024);
    assert.equal(parseMemoryMb('64'), 64);
  });

  test('anything else names the problem and how to write it', () => {
    assert.deepEqual(parseMemoryMb('lots'), { problem: 'memory "lots" is not a size; write it like 256M, 1.5G or 512 (MiB)' });
    assert.ok(typeof parseMemoryMb('12 parsecs') === 'object');
    assert.ok(typeof parseMemoryMb(-1) === 'object');
  });
});
