import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatProblems, parsePipeline } from './parse-pipeline.js';
import type { Pipeline, PipelineProblem } from './pipeline.js';

// From dist/src/pipeline/ back to the repo's test/fixtures/.
const acceptance = fileURLToPath(new URL('../../../test/fixtures/pipelines/', import.meta.url));

function ok(text: string, options?: Parameters<typeof parsePipeline>[1]): Pipeline {
  const result = parsePipeline(text, options);
  if (!result.ok) assert.fail(formatProblems('test.yaml', result.problems));
  return result.pipeline;
}

function problems(text: string, options?: Parameters<typeof parsePipeline>[1]): PipelineProblem[] {
  const result = parsePipeline(text, options);
  assert.equal(result.ok, false, 'expected problems');
  return result.ok ? [] : result.problems;
}

function acceptanceFile(name: string): string {
  return readFileSync(`${acceptance}${name}`, 'utf8');
}

test('the acceptance pipelines folder resolves from the compiled test', () => {
  assert.ok(existsSync(acceptance), `missing ${acceptance}`);
});

test('every acceptance pipeline parses without problems, jobs in file order', () => {
  const files = readdirSync(acceptance).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 5, `found ${files.join(', ')}`);
  for (const file of files) {
    const pipeline = ok(acceptanceFile(file));
    assert.equal(pipeline.version, '1.0');
    assert.equal(pipeline.project, true);
    const ids = pipeline.jobs.map((j) => j.id);
    const inFile = [...acceptanceFile(file).matchAll(/id: "([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(ids, inFile, file);
  }
});

test('retry.yaml gives three retries with a fixed 0.2 s backoff and the default 300 s cap', () => {
  const [flaky] = ok(acceptanceFile('retry.yaml')).jobs;
  assert.equal(flaky?.retries, 3);
  assert.deepEqual(flaky?.retryBackoff, { type: 'fixed', delaySeconds: 0.2, maxSeconds: 300 });
  assert.deepEqual(flaky?.args, ['3']);
  assert.equal(flaky?.line, 5);
});

test('service.yaml gives the service an automatic port and the client a dependency on it', () => {
  const [api, client] = ok(acceptanceFile('service.yaml')).jobs;
  assert.equal(api?.type, 'service');
  assert.equal(api?.port, 'auto');
  assert.equal(client?.port, null);
  assert.deepEqual(client?.dependsOn, ['api']);
});

test('gpu.yaml routes train to GPU and leaves prep on GENERAL', () => {
  const [prep, train] = ok(acceptanceFile('gpu.yaml')).jobs;
  assert.deepEqual(prep?.requirement, ['GENERAL']);
  assert.deepEqual(train?.requirement, ['GPU']);
  assert.equal(train?.line, 9);
});

test('fanout.yaml flow-style jobs parse with their lines and parents', () => {
  const jobs = ok(acceptanceFile('fanout.yaml')).jobs;
  const w3 = jobs.find((j) => j.id === 'worker-3');
  assert.equal(w3?.line, 11);
  assert.equal(w3?.file, 'scripts/mapper.py');
  assert.deepEqual(w3?.args, ['3']);
  assert.deepEqual(jobs.at(-1)?.dependsOn, ['worker-1', 'worker-2', 'worker-3', 'worker-4']);
});

test('a job gets the documented defaults when it gives only id and file', () => {
  const job = ok('name: p\njobs:\n  - id: a\n    file: a.sh\n').jobs[0];
  assert.deepEqual(job, {
    id: 'a',
    type: 'run',
    file: 'a.sh',
    args: [],
    env: {},
    dependsOn: [],
    requirement: ['GENERAL'],
    priority: 0,
    delaySeconds: 0,
    affinity: false,
    port: null,
    retries: 0,
    retryBackoff: { type: 'fixed', delaySeconds: 1, maxSeconds: 300 },
    timeoutSeconds: 0,
    triggerRule: 'all_success',
    approval: null,
    hitl: null,
    onFailure: null,
    resources: null,
    driver: null,
    network: null,
    image: null,
    line: 3,
  });
  const pipeline = ok('name: p\njobs: [{ id: a, command: "echo hi" }]\n');
  assert.equal(pipeline.version, '1');
  assert.equal(pipeline.project, false);
  assert.equal(pipeline.jobs[0]?.command, 'echo hi');
  assert.equal('file' in (pipeline.jobs[0] ?? {}), false);
});

test('every field is read in its documented shapes', () => {
  const [a, b] = ok(`name: p
version: 2.10
jobs:
  - id: a
    command: train.py
    args: "--lr 0.1 'two words' \\"q\\\\\\"x\\""
    env: { LR: 0.10, ON: true, EMPTY: }
    requirement: "GPU, HIGH_MEM"
    priority: -3
    delay: 1.5
    affinity: true
    port: 8080
    retries: 2
    retry_backoff: { type: exponential, delay: 2, max: 60 }
    timeout: 30
    trigger_rule: all_done
    approval: { message: "ship it?", timeout: 600 }
    on_failure: b
  - id: b
    file: cleanup.sh
    args: [1, two, 3.50]
    dependencies: a
    requirement: [GPU]
    approval: true
`).jobs;
  assert.deepEqual(a?.args, ['--lr', '0.1', 'two words', 'q"x']);
  assert.deepEqual(a?.env, { LR: '0.10', ON: 'true', EMPTY: '' });
  assert.deepEqual(a?.requirement, ['GPU', 'HIGH_MEM']);
  assert.equal(a?.priority, -3);
  assert.equal(a?.delaySeconds, 1.5);
  assert.equal(a?.affinity, true);
  assert.equal(a?.port, 8080);
  assert.deepEqual(a?.retryBackoff, { type: 'exponential', delaySeconds: 2, maxSeconds: 60 });
  assert.equal(a?.timeoutSeconds, 30);
  assert.equal(a?.triggerRule, 'all_done');
  assert.deepEqual(a?.approval, { message: 'ship it?', timeoutSeconds: 600 });
  assert.equal(a?.onFailure, 'b');
  assert.deepEqual(b?.args, ['1', 'two', '3.50']);
  assert.deepEqual(b?.dependsOn, ['a']);
  assert.equal(b?.approval?.timeoutSeconds, 0);
  assert.match(b?.approval?.message ?? '', /"b"/);
});

test('a numeric version keeps the digits as written', () => {
  assert.equal(ok('name: p\nversion: 1.0\njobs: [{ id: a, file: a }]\n').version, '1.0');
});

test('a file with many problems reports all of them, each on its line, in file order', () => {
  const text = `name: "bad"
verison: 2
jobs:
  - id: "extract"
    type: "batch"
    file: "a.sh"
    priority: "high"
  - id: "load"
    command: "x"
    file: "y"
    retries: -1
    retry_backoff: { type: "linear" }
  - type: run
    file: z.sh
  - id: "train"
    depends_on: ["prep"]
    on_failure: nothere
  - id: "extract"
    file: e.sh
`;
  const found = problems(text);
  const expected: Array<[number, RegExp]> = [
    [2, /unknown key "verison" at top level; did you mean "version"\?/],
    [5, /job "extract": type must be one of run, service \(in any case\), not "batch"/],
    [7, /job "extract": priority must be a whole number, not "high"/],
    [9, /job "load" has both file and command/],
    [11, /job "load": retries must be 0 or more, not -1/],
    [12, /retry_backoff.type must be one of fixed, exponential, not "linear"/],
    [13, /job #3 has no id/],
    [15, /job "train" has neither file nor command/],
    [16, /job "train" depends on "prep", which is not defined \(defined: extract, load, train\)/],
    [17, /job "train" has on_failure "nothere", which is not a job of this pipeline/],
    [18, /job id "extract" is used on lines 4 and 18/],
  ];
  assert.deepEqual(
    found.map((p) => p.line),
    expected.map(([line]) => line),
    formatProblems('bad.yaml', found),
  );
  expected.forEach(([, pattern], i) => assert.match(found[i]?.message ?? '', pattern));
  assert.equal(found[0]?.column, 1);
  assert.equal(found[2]?.column, 15);
});

test('formatProblems prints file:line: message, one per line', () => {
  const text = 'name: p\njobs:\n  - id: train\n    file: t.sh\n    depends_on: prep\n  - { id: extract, file: e.sh }\n';
  assert.equal(
    formatProblems('pipeline.yaml', problems(text)),
    'pipeline.yaml:5: job "train" depends on "prep", which is not defined (defined: train, extract)',
  );
});

test('an unknown key gets the nearest valid key as a suggestion, or the list of valid keys', () => {
  const found = problems('name: p\njobs:\n  - id: x\n    file: x.sh\n    depend_on: [y]\n    dependsOn: [y]\n    colour: red\n');
  assert.match(found[0]?.message ?? '', /^unknown key "depend_on" in job "x"; did you mean "depends_on"\?$/);
  assert.match(found[1]?.message ?? '', /did you mean "depends_on"\?/);
  assert.match(found[2]?.message ?? '', /unknown key "colour" in job "x"; valid keys: id, type, file/);
  const typo = problems('name: p\njobs:\n  - { id: x, file: x, retry_backoff: { dealy: 1 } }\n');
  assert.match(typo[0]?.message ?? '', /"dealy" in retry_backoff of job "x"; did you mean "delay"\?/);
});

test('a dependency cycle is reported once with its path', () => {
  const text =
    'name: p\njobs:\n  - { id: a, file: a, depends_on: [c] }\n  - { id: b, file: b, depends_on: [a] }\n  - { id: c, file: c, depends_on: [b] }\n  - { id: d, file: d, depends_on: [d] }\n';
  const found = problems(text);
  assert.equal(found.length, 2, formatProblems('p.yaml', found));
  assert.equal(found[0]?.line, 3);
  assert.match(found[0]?.message ?? '', /cycle: a → c → b → a/);
  assert.match(found[1]?.message ?? '', /job "d" depends on itself/);
});

test('an alias bomb is refused without expanding it', () => {
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++)
    levels.push(
      `l${i}: &l${i} [${Array(10)
        .fill(i === 1 ? '*a' : `*l${i - 1}`)
        .join(', ')}]`,
    );
  const text = `${levels.join('\n')}\nname: p\njobs: [{ id: a, file: a, args: *l8 }]\n`;
  const found = problems(text);
  assert.equal(found.length, 1);
  assert.match(found[0]?.message ?? '', /alias bomb/);
});

test('ordinary anchors and aliases are resolved', () => {
  const text = 'name: p\njobs:\n  - { id: a, file: a, env: &common { MODE: prod } }\n  - { id: b, file: b, env: *common, depends_on: [a] }\n';
  assert.deepEqual(ok(text).jobs[1]?.env, { MODE: 'prod' });
  assert.match(problems('name: p\njobs: [{ id: a, file: *missing }]\n')[0]?.message ?? '', /alias \*missing has no anchor/);
});

test('custom and non-core tags are refused; core tags are fine', () => {
  const found = problems('name: p\njobs:\n  - id: a\n    file: !!js/function "function () {}"\n    args: !shell "x"\n    env: { K: !!binary aGk= }\n');
  assert.deepEqual(
    found.map((p) => p.line),
    [4, 5, 6],
  );
  for (const p of found) assert.match(p.message, /tag .* is not allowed/);
  assert.deepEqual(ok('name: p\njobs: [{ id: a, file: a, args: !!str 3 }]\n').jobs[0]?.args, ['3']);
});

test('a YAML syntax error is a problem on its line', () => {
  const found = problems('name: p\njobs:\n  - id: a\n   file: "x\n');
  assert.ok(found.length >= 1);
  assert.match(found[0]?.message ?? '', /^YAML syntax error/);
  assert.deepEqual(
    problems('name: p\nname: q\njobs: [{ id: a, file: a }]\n').map((p) => p.line),
    [2],
  );
});

test('jobs missing, empty or not a list is reported', () => {
  assert.match(problems('name: p\n')[0]?.message ?? '', /missing key "jobs"/);
  assert.match(problems('name: p\njobs: []\n')[0]?.message ?? '', /jobs is empty/);
  assert.match(problems('name: p\njobs:\n')[0]?.message ?? '', /jobs is empty/);
  assert.match(problems('name: p\njobs: { a: 1 }\n')[0]?.message ?? '', /jobs must be a list/);
  assert.match(problems('')[0]?.message ?? '', /file is empty/);
  assert.match(problems('jobs: [{ id: a, file: a }]\n')[0]?.message ?? '', /missing key "name"/);
});

test('jobs added to a running DAG may depend on its jobs, and cycles through it are found', () => {
  const existingJobIds = new Set(['extract', 'load']);
  const existingEdges = new Map([['load', ['extract']]]);
  const pipeline = ok('name: p\njobs: [{ id: report, file: r.sh, depends_on: [load] }]\n', { existingJobIds, existingEdges });
  assert.deepEqual(pipeline.jobs[0]?.dependsOn, ['load']);
  const taken = problems('name: p\njobs: [{ id: load, file: l.sh }]\n', { existingJobIds, existingEdges });
  assert.match(taken[0]?.message ?? '', /already exists in the running DAG/);
  // A running DAG whose edges name a job of this file closes a loop through it.
  const loop = problems('name: p\njobs: [{ id: x, file: x.sh, depends_on: [extract] }]\n', {
    existingJobIds,
    existingEdges: new Map([['extract', ['x']]]),
  });
  assert.match(loop.map((p) => p.message).join('\n'), /cycle: x → extract → x/);
  const missing = problems('name: p\njobs: [{ id: r, file: r.sh, depends_on: [lod] }]\n', { existingJobIds });
  assert.match(missing[0]?.message ?? '', /not defined in this file or the running DAG \(defined: r; did you mean "load"\?\)/);
});

test("run_at holds a job until an ISO time with its zone; the pipeline's holds every job without its own", () => {
  const p = ok(`name: later
run_at: 2026-12-01T08:00:00Z
jobs:
  - id: a
    command: echo a
  - id: b
    command: echo b
    run_at: "2026-12-01T10:30:00+01:00"
`);
  assert.deepEqual(
    p.jobs.map((j) => j.runAt),
    [Date.UTC(2026, 11, 1, 8), Date.UTC(2026, 11, 1, 9, 30)],
  );
  assert.equal(ok('name: now\njobs:\n  - id: a\n    command: echo a\n').jobs[0]?.runAt, undefined);
  const found = problems(`name: bad
run_at: tomorrow
jobs:
  - id: a
    command: echo a
    run_at: 2026-12-01T08:00
`);
  assert.deepEqual(
    found.map((f) => f.line),
    [2, 6],
  );
  assert.match(found[0]?.message ?? '', /^run_at must be an ISO 8601 time with a zone like 2026-12-01T08:00:00Z, got "tomorrow"/);
  assert.match(found[1]?.message ?? '', /^job "a": run_at must be .* \(add its zone: Z for UTC, or an offset like \+01:00\)/);
});
