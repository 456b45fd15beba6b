import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Scheduler } from './scheduler.js';
import type { Effect } from './effects.js';
import { spec, worker } from './test-fixtures.js';

/** Random DAGs: job i may only depend on jobs before it, so every draw is acyclic. */
const dagArb = fc
  .integer({ min: 1, max: 40 })
  .chain((n) => fc.tuple(fc.constant(n), fc.array(fc.array(fc.nat(), { maxLength: 4 }), { minLength: n, maxLength: n }), fc.integer({ min: 1, max: 6 })));

test('any random DAG completes with each job run exactly once, never before its parents', () => {
  fc.assert(
    fc.property(dagArb, ([n, rawParents, slots]) => {
      const s = new Scheduler();
      s.registerWorker(worker('w', { slots }), 0);
      const parents = rawParents.map((ps, i) => (i === 0 ? [] : [...new Set(ps.map((p) => `j${p % i}`))]));
      const effects: Effect[] = s.createDag('d', 'random', 0);
      for (let i = 0; i < n; i++) effects.push(...s.submit(`j${i}`, spec({ dagId: 'd', parents: parents[i] ?? [] }), 0));
      const finishedOrder: string[] = [];
      const runs = new Map<string, number>();
      let pending = effects.flatMap((e) => (e.type === 'dispatch' ? [e.job] : []));
      let dagState: string | undefined;
      for (let guard = 0; pending.length > 0 && guard < 10 * n; guard++) {
        const job = pending.shift()!;
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        const out = s.jobFinished('w', job.id, job.attempt, { exitCode: 0, signal: null, durationMs: 1 }, guard + 1);
        finishedOrder.push(job.id);
        pending = pending.concat(out.flatMap((e) => (e.type === 'dispatch' ? [e.job] : [])));
        const done = out.find((e) => e.type === 'dagFinished');
        if (done?.type === 'dagFinished') dagState = done.dag.state;
      }
      assert.equal(dagState, 'succeeded');
      assert.equal(finishedOrder.length, n);
      for (const [id, count] of runs) assert.equal(count, 1, `${id} ran ${count} times`);
      const position = new Map(finishedOrder.map((id, i) => [id, i]));
      parents.forEach((ps, i) => {
        for (const p of ps) assert.ok(position.get(p)! < position.get(`j${i}`)!, `j${i} ran before its parent ${p}`);
      });
    }),
    { numRuns: 200 },
  );
});
