import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const HEAP = fileURLToPath(new URL('./master-heap.js', import.meta.url));

/**
 * Allocates steadily in a fresh process (the bound is process-wide: not in the test runner's),
 * keeping a sliding window of objects alive as a busy master does, with the loop turning between
 * rounds, and prints the young generation's size in MB at the end.
 */
function youngGenerationAfterLoad(boundMb: number | null): number {
  const script = `
    import v8 from 'node:v8';
    import { setImmediate as nextTurn } from 'node:timers/promises';
    const { boundMasterYoungGeneration } = await import(${JSON.stringify(HEAP)});
    const observer = ${boundMb === null ? 'null' : `boundMasterYoungGeneration(${boundMb})`};
    const window = [];
    for (let round = 0; round < 300; round++) {
      for (let i = 0; i < 20_000; i++) window.push({ round, i, text: 'job-' + i });
      if (window.length > 200_000) window.splice(0, 20_000);
      await nextTurn();
    }
    observer?.disconnect();
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(space.space_size / 1048576));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return Number(run.stdout);
}

test('left to itself V8 grows the young generation past 8 MB under this load', () => {
  assert.ok(youngGenerationAfterLoad(null) > 8);
});

test('the master’s young generation grows to its bound and no further', () => {
  assert.equal(youngGenerationAfterLoad(8), 8);
});
