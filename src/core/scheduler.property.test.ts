import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Scheduler } from './scheduler.js';
import { isFinal } from './job.js';
import { spec, worker } from './test-fixtures.js';

type Step =
  | { kind: 'submit'; gpu: boolean; priority: number; retries: number }
  | { kind: 'register'; worker: number; gpu: boolean; slots: number }
  | { kind: 'lose'; worker: number }
  | { kind: 'finish'; pick: number; exitCode: number }
  | { kind: 'cancel'; pick: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('submit' as const), gpu: fc.boolean(), priority: fc.integer({ min: -2, max: 2 }), retries: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('register' as const), worker: fc.integer({ min: 0, max: 3 }), gpu: fc.boolean(), slots: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('lose' as const), worker: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(), exitCode: fc.constantFrom(0, 0, 1) }),
  fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
);

test('whatever happens, no worker holds more jobs than slots, a job is on one worker at most, and GPU jobs only run on GPU workers', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const s = new Scheduler();
      let now = 0;
      let nextId = 0;
      const dispatched = new Map<string, number>();
      for (const st of steps) {
        now += 1;
        let effects;
        switch (st.kind) {
          case 'submit':
            effects = s.submit(`j${nextId++}`, spec({ requirement: st.gpu ? ['GPU'] : ['GENERAL'], priority: st.priority, retries: st.retries }), now);
            break;
          case 'register':
            effects = s.registerWorker(worker(`w${st.worker}`, { tags: st.gpu ? ['GPU'] : ['GENERAL'], slots: st.slots }), now);
            break;
          case 'lose':
            effects = s.workerLost(`w${st.worker}`, now, 'test');
            break;
          case 'finish': {
            const held = [...s.activeJobs()].filter((j) => j.workerId !== null);
            const job = held[st.pick % Math.max(1, held.length)];
            effects = job === undefined ? [] : s.jobFinished(job.workerId!, job.id, job.attempt, { exitCode: st.exitCode, signal: null, durationMs: 1 }, now);
            break;
          }
          case 'cancel': {
            const active = [...s.activeJobs()];
            const job = active[st.pick % Math.max(1, active.length)];
            effects = job === undefined ? [] : s.cancel(job.id, now);
            break;
          }
        }
        for (const effect of effects) {
          if (effect.type !== 'dispatch') continue;
          const target = s.worker(effect.workerId)!;
          if (effect.job.spec.requirement.includes('GPU')) assert.ok(target.tags.has('GPU'), 'GPU job placed on a GPU worker');
          assert.ok((dispatched.get(effect.job.id) ?? 0) < effect.job.attempt, 'every dispatch carries a new attempt number');
          dispatched.set(effect.job.id, effect.job.attempt);
        }
        const owners = new Map<string, string>();
        for (const w of s.liveWorkers()) {
          assert.ok(w.running.size <= w.slots, `worker ${w.id} holds ${w.running.size} jobs in ${w.slots} slots`);
          for (const jobId of w.running) {
            assert.ok(!owners.has(jobId), `job ${jobId} held by two workers`);
            owners.set(jobId, w.id);
            const job = s.job(jobId);
            assert.ok(job !== undefined && !isFinal(job.state) && job.workerId === w.id);
          }
        }
      }
    }),
    { numRuns: 300 },
  );
});
