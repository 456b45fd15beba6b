import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PIPELINE_LIMITS, precheckPipeline } from './pipeline-limits.js';
import { parsePipeline } from './parse-pipeline.js';
import { parsePipelineOffLoop } from './parse-off-loop.js';

const LIMITS = { ...DEFAULT_PIPELINE_LIMITS, maxBytes: 1000, maxDepth: 3, maxKeys: 5 };

test('the precheck refuses size, flow depth and key counts before parsing, naming the flag', () => {
  assert.match(precheckPipeline('x'.repeat(1001), LIMITS)?.message ?? '', /1001 bytes, over the 1000-byte limit; .*--max-pipeline-size/);
  assert.deepEqual(precheckPipeline('a:\n  b: [[[[1]]]]', LIMITS), {
    line: 2,
    column: 1,
    message: 'collections nest deeper than 3 levels; flatten the document or raise --max-pipeline-depth on titan master',
  });
  assert.match(precheckPipeline('{a: 1, b: 2, c: 3, d: 4, e: 5, f: 6}', LIMITS)?.message ?? '', /more than 5 map keys; .*--max-pipeline-keys/);
});

test('brackets and colons in quotes and comments do not count; within the limits passes', () => {
  assert.equal(precheckPipeline('a: "[[[[: : : : : :"\nb: \'{{{{: : : : :\' # [[[[ : : : : :\n', LIMITS), undefined);
  assert.equal(precheckPipeline('a: [[[1]]]\nb: c:d', LIMITS), undefined);
});

test("a duplicate key is reported with both lines, without yaml's quadratic check", () => {
  const result = parsePipeline('name: p\njobs:\n  - id: a\n    command: "true"\n    env:\n      A: 1\n      B: 2\n      A: 3\n');
  assert.equal(result.ok, false);
  assert.deepEqual(!result.ok && result.problems.map((p) => p.message), ['key "A" appears twice in this map (first at line 6); keep one']);
  assert.equal(!result.ok && result.problems[0]?.line, 8);
});

test('block nesting past the depth limit is refused after the parse', () => {
  const result = parsePipeline(`name: p\njobs:\n${'- '.repeat(10)}x\n`, { limits: LIMITS });
  assert.deepEqual(!result.ok && result.problems.map((p) => p.message), [
    'collections nest deeper than 3 levels; flatten the document or raise --max-pipeline-depth on titan master',
  ]);
});

test('a parse off the loop that runs past its budget is stopped and refused', async () => {
  const big = `name: p\njobs:\n  - id: a\n    command: "true"\n    env: {${Array.from({ length: 4000 }, (_, i) => `K${i}: v`).join(', ')}}\n`;
  const slow = await parsePipelineOffLoop(big, { ...DEFAULT_PIPELINE_LIMITS, parseBudgetMs: 1 });
  assert.deepEqual(!slow.ok && slow.problems.map((p) => p.message), [
    'the pipeline took longer than 1 ms to read and was stopped; simplify it (fewer keys, less nesting) or raise --pipeline-parse-budget on titan master',
  ]);
  const ok = await parsePipelineOffLoop(big, DEFAULT_PIPELINE_LIMITS);
  assert.equal(ok.ok, true);
});
