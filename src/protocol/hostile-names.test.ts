import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeIssues, JobRef, JobSubmitRequest } from './messages.js';
import { KvKeyRequest } from './kv-messages.js';

const script = (fileName: string) => ({ run: { kind: 'script', fileName, artifact: 'a'.repeat(64) } });
const problem = (schema: { safeParse: (v: unknown) => { success: boolean; error?: unknown } }, value: unknown): string => {
  const result = schema.safeParse(value);
  return result.success ? 'accepted' : describeIssues(result.error as Parameters<typeof describeIssues>[0]);
};

void test('script file names stay inside the workspace: no absolute path, no "..", no control characters', () => {
  assert.equal(problem(JobSubmitRequest, script('train.py')), 'accepted');
  assert.equal(problem(JobSubmitRequest, script('src/jobs/train.py')), 'accepted');
  assert.match(problem(JobSubmitRequest, script('../../etc/cron.d/x')), /relative to the job workspace/);
  assert.match(problem(JobSubmitRequest, script('a/../../b.sh')), /no "\.\." segments/);
  assert.match(problem(JobSubmitRequest, script('/etc/passwd')), /no leading "\/"/);
  assert.match(problem(JobSubmitRequest, script('x\u0000.py')), /no control characters/);
  assert.match(problem(JobSubmitRequest, script('a'.repeat(256))), /256|255|too|big|long/i);
});

void test('job ids and KV keys refuse what could name a path or break a line', () => {
  for (const bad of ['../x', 'a/b', '', 'x'.repeat(129), 'a b', 'é']) assert.notEqual(problem(JobRef, { jobId: bad }), 'accepted', JSON.stringify(bad));
  assert.equal(problem(JobRef, { jobId: 'team-a.d1.step_2' }), 'accepted');
  for (const bad of ['', 'a\nb', 'nul\u0000', 'k'.repeat(513)]) assert.notEqual(problem(KvKeyRequest, { key: bad }), 'accepted', JSON.stringify(bad));
});
