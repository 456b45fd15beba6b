import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OutputBacklog } from './output-backlog.js';
import type { OutputLine } from './output-lines.js';

const line = (text: string, at = 1): OutputLine => ({ stream: 'stdout', at, line: text });

test('a backlog gives back what it kept, in order, in batches of at most 1000 lines, and is then empty', () => {
  const backlog = new OutputBacklog();
  assert.equal(backlog.empty, true);
  backlog.keep(Array.from({ length: 2500 }, (_, i) => line(`l${i}`)));
  assert.equal(backlog.empty, false);
  const batches = backlog.take();
  assert.deepEqual(
    batches.map((b) => b.length),
    [1000, 1000, 500],
  );
  assert.deepEqual(
    batches.flat().map((l) => l.line),
    Array.from({ length: 2500 }, (_, i) => `l${i}`),
  );
  assert.equal(backlog.empty, true);
  assert.deepEqual(backlog.take(), []);
});

test('past its size a backlog keeps nothing more, and says how many lines it did not keep', () => {
  const backlog = new OutputBacklog(10);
  backlog.keep([line('12345', 5), line('67890', 6), line('x', 7), line('short', 8)]);
  const kept = backlog.take().flat();
  assert.deepEqual(
    kept.slice(0, 2).map((l) => l.line),
    ['12345', '67890'],
  );
  assert.equal(kept.length, 3);
  assert.equal(kept[2]!.stream, 'stderr');
  assert.match(kept[2]!.line, /^\[titan: 2 more lines were printed while the worker had no master; past 10 bytes they were not kept/);
});
