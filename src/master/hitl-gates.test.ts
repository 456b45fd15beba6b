import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DagJobRequest } from '../protocol/messages.js';
import { withHitlGates } from './hitl-gates.js';

const job = (key: string, extra: Record<string, unknown> = {}) => DagJobRequest.parse({ key, run: { kind: 'command', command: `echo ${key}` }, ...extra });

const shape = (jobs: ReturnType<typeof withHitlGates>) => jobs.map((j) => [j.key, j.parents, j.decisionOnly === true ? j.approval : null]);

test('a gate follows each hitl job and its dependants wait for the gate, as the original SDK wired it', () => {
  const planned = withHitlGates(
    [
      job('fetch'),
      job('risk', { parents: ['fetch'], hitl: { message: 'ok?', maxWaitSeconds: 60 }, priority: 5 }),
      job('publish', { parents: ['risk', 'fetch'] }),
    ],
    new Set(),
  );
  assert.deepEqual(shape(planned), [
    ['fetch', [], null],
    ['risk', ['fetch'], null],
    ['hitl-gate-risk', ['risk'], { message: 'ok?', timeoutSeconds: 60 }],
    ['publish', ['hitl-gate-risk', 'fetch'], null],
  ]);
  assert.equal(planned[2]?.priority, 5, "the gate keeps the gated job's priority");
});

test('jobs added later that name a gated job of the running DAG wait for its gate', () => {
  const planned = withHitlGates([job('report', { parents: ['risk', 'fetch'] })], new Set(['fetch', 'risk', 'hitl-gate-risk']));
  assert.deepEqual(shape(planned), [['report', ['hitl-gate-risk', 'fetch'], null]]);
});

test('a gate name already taken is refused before anything is submitted', () => {
  assert.throws(
    () => withHitlGates([job('risk', { hitl: { message: 'ok?', maxWaitSeconds: 60 } }), job('hitl-gate-risk')], new Set()),
    /job risk has hitl_message, so its approval gate is named hitl-gate-risk, which another job already uses/,
  );
});

test('without hitl the jobs pass through unchanged', () => {
  const jobs = [job('a'), job('b', { parents: ['a'] })];
  assert.deepEqual(withHitlGates(jobs, new Set(['x'])), jobs);
});
