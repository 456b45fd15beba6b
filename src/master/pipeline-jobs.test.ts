import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePipeline } from '../pipeline/parse-pipeline.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { DagJobRequest } from '../protocol/messages.js';
import { missingUploads, pipelineToDagJobs, type PipelineUploads } from './pipeline-jobs.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function pipeline(text: string): Pipeline {
  const parsed = parsePipeline(text);
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join('\n'));
  return parsed.pipeline;
}

function uploads(files: Record<string, string>, project?: string, held: readonly string[] = [A, B]): PipelineUploads {
  return { files, project, has: (hash) => held.includes(hash) };
}

const scripts = pipeline(
  'name: s\nproject: true\njobs:\n  - id: one\n    file: ./steps/one.sh\n  - id: again\n    file: steps/one.sh\n  - id: two\n    file: two.sh\n  - id: cmd\n    command: "true"\n',
);

test('the files a pipeline names and the request lacks are listed once each, with the first job naming them and its line', () => {
  assert.deepEqual(missingUploads(scripts, uploads({})), {
    missing: {
      files: [
        { path: 'steps/one.sh', job: 'one', line: 4 },
        { path: 'two.sh', job: 'two', line: 8 },
      ],
      project: true,
    },
  });
  assert.deepEqual(missingUploads(scripts, uploads({ 'steps/one.sh': A }, B)), {
    missing: { files: [{ path: 'two.sh', job: 'two', line: 8 }], project: false },
  });
  assert.equal(missingUploads(scripts, uploads({ 'steps/one.sh': A, './two.sh': B }, B)), undefined, 'a "./" spelling of the path counts');
});

test('each script job runs its uploaded artifact under its path in the folder, and project: true gives every job the folder', () => {
  const jobs = pipelineToDagJobs(scripts, uploads({ 'steps/one.sh': A, 'two.sh': B }, B));
  assert.deepEqual(
    jobs.map((j) => j.run),
    [
      { kind: 'script', fileName: 'steps/one.sh', artifact: A },
      { kind: 'script', fileName: 'steps/one.sh', artifact: A },
      { kind: 'script', fileName: 'two.sh', artifact: B },
      { kind: 'command', command: 'true' },
    ],
  );
  assert.deepEqual(
    jobs.map((j) => j.bundle),
    [B, B, B, B],
  );
  for (const job of jobs) DagJobRequest.parse(job);
});

test('a script outside the pipeline folder, or a hash the master does not hold, is refused naming the job and the fix', () => {
  assert.throws(
    () => missingUploads(pipeline('name: x\njobs:\n  - id: up\n    file: ../secret.sh\n'), uploads({})),
    (err: Error & { code?: string }) =>
      err.code === 'E_UNSAFE_PATH' && err.message === 'job up (line 3): file "../secret.sh" must be a path inside the pipeline\'s folder, without ".."',
  );
  assert.throws(
    () => missingUploads(pipeline('name: x\njobs:\n  - id: abs\n    file: /etc/passwd\n'), uploads({})),
    /job abs \(line 3\): file "\/etc\/passwd" must be a path inside/,
  );
  assert.throws(
    () => pipelineToDagJobs(pipeline('name: x\njobs:\n  - id: a\n    file: a.sh\n'), uploads({ 'a.sh': 'f'.repeat(64) })),
    /job a \(line 3\): file a\.sh: no artifact f{64} on this master; upload the bytes first/,
  );
});

test('a service gets its port (none for auto), the run_at of the pipeline holds every job without its own, and the rest passes through', () => {
  const [api, client] = pipelineToDagJobs(
    pipeline(
      [
        'name: svc',
        'run_at: 2026-12-01T08:00:00Z',
        'jobs:',
        '  - id: api',
        '    type: service',
        '    command: serve',
        '    port: auto',
        '  - id: client',
        '    command: ping',
        '    depends_on: [api]',
        '    run_at: "2026-12-01T10:30:00+01:00"',
        '    retries: 2',
        '    trigger_rule: all_done',
        '    hitl_message: check it',
        '    on_failure: api',
        '',
      ].join('\n'),
    ),
    uploads({}),
  );
  assert.deepEqual(api?.service, { port: null });
  assert.equal(api?.runAt, Date.UTC(2026, 11, 1, 8));
  assert.equal(client?.service, undefined);
  assert.equal(client?.runAt, Date.UTC(2026, 11, 1, 9, 30));
  assert.deepEqual([client?.parents, client?.retries, client?.triggerRule, client?.onFailure], [['api'], 2, 'all_done', 'api']);
  assert.deepEqual(client?.hitl, { message: 'check it', maxWaitSeconds: 172_800 });
  const fixed = pipelineToDagJobs(pipeline('name: f\njobs:\n  - id: api\n    type: service\n    command: serve\n    port: 8081\n'), uploads({}));
  assert.deepEqual(fixed[0]?.service, { port: 8081 });
});
