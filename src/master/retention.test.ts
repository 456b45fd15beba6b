import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { silentLogger } from '../common/log.js';
import type { PruneBatch } from '../store/pruner.js';
import type { Release } from '../store/writer-gate.js';
import { Retention } from './retention.js';

/** A store with `jobs` old jobs, deleted a few per batch, that logs what retention asks of it in order. */
function fakeStore(jobs: number): {
  store: ConstructorParameters<typeof Retention>[0];
  calls: string[];
  letThrough: () => void;
} {
  const calls: string[] = [];
  let left = jobs;
  let waiting: Array<() => void> = [];
  let open = false;
  const store: ConstructorParameters<typeof Retention>[0] = {
    holdOffCheckpoints: () =>
      new Promise<Release>((resolve) => {
        const grant = (): void => {
          calls.push('hold');
          resolve(() => calls.push('release'));
        };
        if (open) grant();
        else waiting.push(grant);
      }),
    pruneBatch: (_before: number, maxRows: number): Promise<PruneBatch> => {
      const deleted = Math.min(left, maxRows);
      left -= deleted;
      calls.push(`batch ${deleted}`);
      return Promise.resolve({ jobs: deleted, logChunks: 0, dags: 0 });
    },
    artifactInUse: () => Promise.resolve(false),
  };
  const letThrough = (): void => {
    open = true;
    for (const grant of waiting) grant();
    waiting = [];
  };
  return { store, calls, letThrough };
}

test('no batch runs while the store holds the writer for a checkpoint; it starts once let through', async () => {
  const { store, calls, letThrough } = fakeStore(10);
  const retention = new Retention(store, null, 60_000, silentLogger());
  const pass = retention.pass();
  for (let i = 0; i < 5; i++) await nextTurn();
  assert.deepEqual(calls, [], 'the pass waits for the checkpoint to end');
  assert.equal(retention.batches, 0, 'and the wait is no batch');
  letThrough();
  const summary = await pass;
  assert.equal(summary.jobs, 10);
});

test('every batch holds off checkpoints while it runs and lets go right after', async () => {
  const { store, calls, letThrough } = fakeStore(40);
  letThrough();
  const retention = new Retention(store, null, 60_000, silentLogger());
  await retention.pass();
  const batches = calls.filter((call) => call.startsWith('batch')).length;
  assert.ok(batches >= 2, 'the pass ran in several batches');
  assert.deepEqual(
    calls,
    calls.flatMap((call) => (call.startsWith('batch') ? ['hold', call, 'release'] : [])),
    'each batch between its own hold and release',
  );
});
