import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DagJobRequest, JobSubmitRequest } from '../protocol/messages.js';
import { DEFAULT_REQUIREMENT } from '../core/requirement.js';
import { dagJobSpecOf, jobSpecOf } from './job-spec.js';

const command = { kind: 'command', command: 'echo hello' } as const;

test('a job and a DAG job that name no tag both require the default, whichever way they came', () => {
  const single = jobSpecOf(JobSubmitRequest.parse({ run: command, requirement: [] }));
  const inDag = dagJobSpecOf('d1', DagJobRequest.parse({ key: 'a', run: command, requirement: [] }), []);
  assert.deepEqual(single.requirement, DEFAULT_REQUIREMENT);
  assert.deepEqual(inDag.requirement, DEFAULT_REQUIREMENT);
  assert.deepEqual(jobSpecOf(JobSubmitRequest.parse({ run: command })).requirement, DEFAULT_REQUIREMENT);
});

test('the shared fields map the same way for a single job and a DAG job', () => {
  const fields = {
    run: command,
    args: ['x'],
    env: { A: '1' },
    requirement: ['GPU'],
    priority: 5,
    retries: 2,
    timeoutSeconds: 9,
    resources: { cpu: 1 },
    runAt: 1000,
  };
  const { name: _single, ...single } = jobSpecOf(JobSubmitRequest.parse(fields));
  const { name: _dag, dagId, parents, triggerRule, affinity, delaySeconds, ...inDag } = dagJobSpecOf('d1', DagJobRequest.parse({ key: 'a', ...fields }), []);
  assert.deepEqual(inDag, single);
  assert.deepEqual([dagId, parents, triggerRule, affinity, delaySeconds], ['d1', [], 'all_success', false, 0]);
});

test('an unnamed job is called by its script, or the start of its command; a DAG job by its key', () => {
  assert.equal(jobSpecOf(JobSubmitRequest.parse({ run: { kind: 'script', fileName: 'train.py', artifact: 'a'.repeat(64) } })).name, 'train.py');
  assert.equal(jobSpecOf(JobSubmitRequest.parse({ run: { kind: 'command', command: 'x'.repeat(100) } })).name, 'x'.repeat(80));
  assert.equal(dagJobSpecOf('d1', DagJobRequest.parse({ key: 'prepare', run: command }), []).name, 'prepare');
});

test('a single job may not have both a delay and an instant', () => {
  assert.throws(() => jobSpecOf(JobSubmitRequest.parse({ run: command, delaySeconds: 5, runAt: 1000 })), /delaySeconds and runAt contradict each other/);
  assert.equal(jobSpecOf(JobSubmitRequest.parse({ run: command, delaySeconds: 0, runAt: 1000 })).runAt, 1000);
});

test('DAG keys become job ids of the DAG, and an on_failure fallback without parents runs when its job fails', () => {
  const fallback = dagJobSpecOf('d1', DagJobRequest.parse({ key: 'cleanup', run: command }), ['train']);
  assert.deepEqual([fallback.parents, fallback.triggerRule], [['d1.train'], 'one_failed']);
  const failing = dagJobSpecOf('d1', DagJobRequest.parse({ key: 'train', run: command, parents: ['prepare'], onFailure: 'cleanup' }), []);
  assert.deepEqual([failing.parents, failing.onFailure], [['d1.prepare'], 'd1.cleanup']);
});
