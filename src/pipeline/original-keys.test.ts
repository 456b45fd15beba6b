import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblems, parsePipeline } from './parse-pipeline.js';
import type { Pipeline } from './pipeline.js';

function ok(text: string): Pipeline {
  const result = parsePipeline(text);
  if (!result.ok) assert.fail(formatProblems('test.yaml', result.problems));
  return result.pipeline;
}

function problemText(text: string): string {
  const result = parsePipeline(text);
  assert.equal(result.ok, false, 'expected problems');
  return result.ok ? '' : formatProblems('agents.yaml', result.problems);
}

// Every key the original Titan's pipeline loader reads, as its own sample pipelines write them.
const ORIGINAL = `name: "agents"
version: "1.0"
project: true
jobs:
  - id: "fetch"
    type: "run"
    file: "scripts/fetch.py"
    args: "--limit 5"
    requirement: "GENERAL"
    priority: 3
    delay: 2
  - id: "risk-check"
    type: "run"
    file: "scripts/risk.py"
    depends_on: ["fetch"]
    affinity: true
    hitl_message: "Risk report ready. Approve to publish?"
    max_wait_seconds: 600
  - id: "api"
    type: "SERVICE"
    file: "scripts/api.py"
    port: 8123
  - id: "publish"
    type: "run"
    file: "scripts/publish.py"
    depends_on: ["risk-check", "api"]
    hitl_message: "Published. Close the ticket?"
`;

test('a pipeline using every original key parses, each with the original meaning', () => {
  const pipeline = ok(ORIGINAL);
  assert.deepEqual([pipeline.name, pipeline.version, pipeline.project], ['agents', '1.0', true]);
  const [fetch, risk, api, publish] = pipeline.jobs;
  assert.deepEqual(
    {
      type: fetch?.type,
      file: fetch?.file,
      args: fetch?.args,
      requirement: fetch?.requirement,
      priority: fetch?.priority,
      delay: fetch?.delaySeconds,
      hitl: fetch?.hitl,
    },
    { type: 'run', file: 'scripts/fetch.py', args: ['--limit', '5'], requirement: ['GENERAL'], priority: 3, delay: 2, hitl: null },
  );
  assert.deepEqual([risk?.dependsOn, risk?.affinity], [['fetch'], true]);
  assert.deepEqual(risk?.hitl, { message: 'Risk report ready. Approve to publish?', maxWaitSeconds: 600 });
  assert.equal(risk?.approval, null, 'hitl_message gates the dependants, not the job itself');
  assert.deepEqual([api?.type, api?.port], ['service', 8123], 'type is read in any case, as the original lower-cases it');
  assert.deepEqual(publish?.hitl, { message: 'Published. Close the ticket?', maxWaitSeconds: 172_800 }, 'the default wait is 48 h');
});

test('an empty hitl_message asks for nothing, and max_wait_seconds alone changes nothing (as in the original)', () => {
  const [job] = ok(`name: x\njobs:\n  - id: a\n    file: a.py\n    hitl_message: ""\n    max_wait_seconds: 60\n`).jobs;
  assert.equal(job?.hitl, null);
});

test('a wait that is not a positive number of seconds within 30 days is refused at its line', () => {
  assert.equal(
    problemText(`name: x\njobs:\n  - id: a\n    file: a.py\n    hitl_message: go?\n    max_wait_seconds: 0\n`),
    'agents.yaml:6: job "a": max_wait_seconds must be between 1 and 2592000, not 0',
  );
  assert.match(
    problemText(`name: x\njobs:\n  - id: a\n    file: a.py\n    hitl_message: go?\n    max_wait_seconds: soon\n`),
    /^agents\.yaml:6: job "a": max_wait_seconds must be a number, not/,
  );
});

test('a job named like the gate another job needs is refused, naming both', () => {
  const text = `name: x\njobs:\n  - id: check\n    file: a.py\n    hitl_message: go?\n  - id: hitl-gate-check\n    file: b.py\n`;
  assert.equal(
    problemText(text),
    'agents.yaml:3: job "check" has hitl_message, so its approval gate is named "hitl-gate-check", which is already the job on line 6; rename that job',
  );
});

test('a gated job whose gate id would be too long is told to shorten its id', () => {
  const id = 'j'.repeat(125);
  assert.match(
    problemText(`name: x\njobs:\n  - id: ${id}\n    file: a.py\n    hitl_message: go?\n`),
    /agents\.yaml:5: .*over 128 characters; shorten the job id/,
  );
});

test('an unknown type is still refused, with the two the original knows', () => {
  assert.match(
    problemText(`name: x\njobs:\n  - id: a\n    type: batch\n    file: a.py\n`),
    /agents\.yaml:4: job "a": type must be one of run, service \(in any case\), not "batch"/,
  );
});
