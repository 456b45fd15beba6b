import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const HEAP = fileURLToPath(new URL('./master-heap.js', import.meta.url));
/** Makes a worker thread and waits until it runs: V8 made its isolate (and put the growth factor back to 2). */
const MAKE_THREAD = `threads.push(new Worker('setInterval(() => {}, 1000)', { eval: true }));
  await new Promise((resolve) => threads.at(-1).once('online', resolve));`;

/**
 * Runs `setup` in a fresh process (the bound is process-wide: not in the test runner's), then
 * allocates steadily, keeping a sliding window of objects alive as a busy master does with the
 * loop turning between rounds, and returns the young generation's size in MB at the end.
 */
function youngGenerationAfterLoad(setup: string): number {
  const script = `
    import v8 from 'node:v8';
    import { setImmediate as nextTurn } from 'node:timers/promises';
    import { Worker } from 'node:worker_threads';
    const { boundMasterYoungGeneration, liftStartUpBound } = await import(${JSON.stringify(HEAP)});
    const threads = [];
    ${setup}
    const window = [];
    for (let round = 0; round < 300; round++) {
      for (let i = 0; i < 20_000; i++) window.push({ round, i, text: 'job-' + i });
      if (window.length > 200_000) window.splice(0, 20_000);
      await nextTurn();
    }
    for (const thread of threads) await thread.terminate();
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(space.space_size / 1048576));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return Number(run.stdout);
}

test('left to itself V8 grows the young generation past 8 MB under this load', () => {
  assert.ok(youngGenerationAfterLoad('') > 8);
});

test('the master’s young generation grows to its bound and no further', () => {
  assert.equal(youngGenerationAfterLoad('boundMasterYoungGeneration(8);'), 8);
});

test('a worker thread made after the bound does not lift it for good', () => {
  assert.equal(youngGenerationAfterLoad(`boundMasterYoungGeneration(8); ${MAKE_THREAD}`), 8);
});

test('a thread made during start-up, under the half bound, leaves the space at the bound once lifted', () => {
  assert.equal(youngGenerationAfterLoad(`boundMasterYoungGeneration(4); ${MAKE_THREAD} liftStartUpBound();`), 8);
});

test('lifting the start-up bound does nothing in a process that was never bounded', () => {
  assert.ok(youngGenerationAfterLoad('liftStartUpBound();') > 8);
});
