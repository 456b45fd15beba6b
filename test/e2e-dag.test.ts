import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TitanClient } from '../src/sdk/client.js';
import { Cluster, MAIN, until } from './harness.js';

function writePipeline(dir: string, name: string, yaml: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

describe('DAG runs on a real cluster', () => {
  const cluster = new Cluster();
  let client: TitanClient;
  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('w1', { slots: 4 });
    await cluster.startWorker('w2', { slots: 4 });
    client = await cluster.client();
  });
  after(() => cluster.close());

  test('a pipeline with mistakes is refused before anything runs, every problem listed with its line and fix', async () => {
    const file = writePipeline(
      join(cluster.dir, 'bad'),
      'bad.yaml',
      [
        'name: broken',
        'jobs:',
        '  - id: a',
        '    command: "true"',
        '    depend_on: [b]',
        '  - id: b',
        '    command: "true"',
        '    depends_on: [c]',
        '  - id: c',
        '    command: "true"',
        '    depends_on: [b]',
        '    priority: high',
        '',
      ].join('\n'),
    );
    const before = (await client.listDags()).length;
    const result = await cluster.cli(['dag', file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /bad\.yaml:5: .*"depend_on".*did you mean "depends_on"/);
    assert.match(result.stderr, /bad\.yaml:\d+: .*cycle.*(b → c → b|c → b → c)/);
    assert.match(result.stderr, /bad\.yaml:12: .*priority/);
    assert.equal((await client.listDags()).length, before, 'no DAG was created');
  });

  test('a DAG sent as jobs (no YAML) with a cycle is refused naming only its members, in order, and nothing is created', async () => {
    const job = (key: string, parents: string[]) => ({ key, run: { kind: 'command' as const, command: 'true' }, parents });
    const before = (await client.listDags()).length;
    const jobs = [job('start', []), job('a', ['start', 'c']), job('b', ['a']), job('c', ['b']), job('after', ['c'])];
    await assert.rejects(client.submitDag('loop', jobs), /the jobs a → c → b → a form a cycle \(each depends on the next\)/);
    assert.equal((await client.listDags()).length, before, 'no DAG was created');
  });

  test('affinity runs the child on the worker that ran its parent', async () => {
    const file = writePipeline(
      join(cluster.dir, 'aff'),
      'affinity.yaml',
      [
        'name: affinity',
        'jobs:',
        ...Array.from({ length: 4 }, (_, i) => [
          `  - id: p${i}`,
          '    command: "sleep 0.2"',
          `  - id: c${i}`,
          '    command: "true"',
          `    depends_on: [p${i}]`,
          '    affinity: true',
        ]).flat(),
        '',
      ].join('\n'),
    );
    const { dagId } = await client.submitPipeline(file);
    const done = await client.waitDag(dagId);
    assert.equal(done.dag.state, 'succeeded');
    const worker = new Map(done.jobs.map((j) => [j.key, j.workerId]));
    assert.equal(new Set(done.jobs.map((j) => j.workerId)).size, 2, 'the parents spread over both workers');
    for (let i = 0; i < 4; i++) assert.equal(worker.get(`c${i}`), worker.get(`p${i}`), `c${i} follows p${i}`);
  });

  test('a job that used up its retries lands in the DLQ, and `titan retry` runs it again and completes its DAG', async () => {
    const gate = join(cluster.dir, 'dlq-gate');
    const file = writePipeline(
      join(cluster.dir, 'dlq'),
      'dlq.yaml',
      [
        'name: dlq',
        'jobs:',
        '  - id: fragile',
        `    command: "test -e ${gate}"`,
        '    retries: 1',
        '    retry_backoff: { type: fixed, delay: 0.05 }',
        '  - id: after',
        '    command: "echo resumed"',
        '    depends_on: [fragile]',
        '',
      ].join('\n'),
    );
    const { dagId } = await client.submitPipeline(file);
    const failed = await client.waitDag(dagId);
    assert.equal(failed.dag.state, 'failed');
    assert.equal(failed.jobs.find((j) => j.key === 'fragile')?.state, 'dead');
    const dlq = await cluster.cli(['dlq', '--json']);
    assert.ok((JSON.parse(dlq.stdout) as Array<{ id: string }>).some((j) => j.id === `${dagId}.fragile`));
    writeFileSync(gate, '');
    const retried = await cluster.cli(['retry', `${dagId}.fragile`]);
    assert.equal(retried.code, 0, retried.stderr);
    const after = await client.waitDag(dagId);
    assert.equal(after.dag.state, 'succeeded');
    assert.equal(after.jobs.find((j) => j.key === 'fragile')?.attempt, 3);
    assert.match(retried.stdout, /attempt 3\b/, 'the CLI names the attempt that ran');
  });

  test('cancelling a DAG kills its running processes and skips the rest', async () => {
    const marker = join(cluster.dir, 'cancel-started');
    const file = writePipeline(
      join(cluster.dir, 'cancel'),
      'cancel.yaml',
      [
        'name: cancel-me',
        'jobs:',
        '  - id: long',
        `    command: "touch ${marker}; sleep 60 & sleep 60; wait"`,
        '  - id: next',
        '    command: "true"',
        '    depends_on: [long]',
        '',
      ].join('\n'),
    );
    const { dagId } = await client.submitPipeline(file);
    await until('the long job to start', async () => existsSync(marker));
    const result = await cluster.cli(['cancel', dagId]);
    assert.equal(result.code, 0, result.stderr);
    const done = await client.waitDag(dagId);
    assert.equal(done.dag.state, 'cancelled');
    assert.deepEqual(
      done.jobs.map((j) => [j.key, j.state]),
      [
        ['long', 'cancelled'],
        ['next', 'skipped'],
      ],
    );
    const shown = await cluster.cli(['dag', 'status', dagId]);
    assert.match(shown.stdout, /: cancelled \(2\/2 jobs final, 0 failed, 1 cancelled, 1 skipped\)/);
  });

  test('a job with an approval gate waits for `titan approve`, across a master restart, then the DAG completes', async () => {
    const file = writePipeline(
      join(cluster.dir, 'approval'),
      'release.yaml',
      [
        'name: release',
        'jobs:',
        '  - id: build',
        '    command: "echo built"',
        '  - id: deploy',
        '    command: "echo deployed"',
        '    depends_on: [build]',
        '    approval: { message: "deploy to production?", timeout: 600 }',
        '',
      ].join('\n'),
    );
    const { dagId } = await client.submitPipeline(file);
    await until('the deploy job to await approval', async () =>
      /awaiting approval: deploy to production\?/.test((await client.status(`${dagId}.deploy`)).reason ?? ''),
    );
    assert.equal((await client.status(`${dagId}.deploy`)).state, 'pending');
    await cluster.killMaster();
    await cluster.startMaster();
    const fresh = await cluster.client();
    assert.match((await fresh.status(`${dagId}.deploy`)).reason ?? '', /awaiting approval/);
    const approved = await cluster.cli(['approve', `${dagId}/deploy`, '--by', 'alice']);
    assert.equal(approved.code, 0, approved.stderr);
    const done = await fresh.waitDag(dagId);
    assert.equal(done.dag.state, 'succeeded');
    const history = await fresh.history(`${dagId}.deploy`);
    assert.ok(history.events.some((e) => e.detail === 'approved by alice'));
    client = fresh;
  });

  test('a running job adds jobs to its own DAG with `titan dag add $TITAN_DAG_ID`', async () => {
    const dir = join(cluster.dir, 'grow');
    writePipeline(
      dir,
      'more.yaml',
      ['name: more', 'jobs:', '  - id: grown', '    command: "echo grown after $TITAN_DAG_ID"', '    depends_on: [seed]', ''].join('\n'),
    );
    const file = writePipeline(
      dir,
      'grow.yaml',
      ['name: grow', 'jobs:', '  - id: seed', `    command: "${process.execPath} ${MAIN} dag add $TITAN_DAG_ID ${join(dir, 'more.yaml')}"`, ''].join('\n'),
    );
    const { dagId } = await client.submitPipeline(file);
    const done = await client.waitDag(dagId);
    assert.equal(done.dag.state, 'succeeded', JSON.stringify(done.jobs.map((j) => [j.key, j.state, j.reason])));
    assert.deepEqual(
      done.jobs.map((j) => j.key),
      ['seed', 'grown'],
    );
    const lines: string[] = [];
    await client.logs(`${dagId}.grown`, (b) => lines.push(...b.map((l) => l.line)));
    assert.deepEqual(lines, [`grown after ${dagId}`]);
  });
});

test('a master killed with SIGKILL in the middle of a 200-job DAG resumes it, and every job runs exactly once', async (t) => {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  await cluster.startMaster();
  await cluster.startWorker('w1', { slots: 4 });
  await cluster.startWorker('w2', { slots: 4 });
  const ledger = cluster.sharedFolder('ledger');
  // 1 → 198 → 1: each run leaves a file named after its job and attempt.
  const touch = `touch ${ledger}/$TITAN_JOB_ID.$TITAN_ATTEMPT`;
  const lines = ['name: big', 'jobs:', '  - id: start', `    command: "${touch}"`];
  for (let i = 0; i < 198; i++) lines.push(`  - id: m${i}`, `    command: "${touch}; sleep 0.0${i % 5}"`, '    depends_on: [start]');
  lines.push('  - id: end', `    command: "${touch}"`, `    depends_on: [${Array.from({ length: 198 }, (_, i) => `m${i}`).join(', ')}]`, '');
  const file = writePipeline(join(cluster.dir, 'big'), 'big.yaml', lines.join('\n'));
  const client = await cluster.client();
  const { dagId } = await client.submitPipeline(file);
  await until('a fair part of the DAG to have run', async () => readdirSync(ledger).length >= 40);
  await cluster.killMaster();
  await cluster.startMaster();
  const after = await cluster.client();
  const done = await after.waitDag(dagId);
  assert.equal(done.dag.state, 'succeeded');
  assert.equal(done.jobs.length, 200);
  const runs = readdirSync(ledger).map((f) => f.slice(0, f.lastIndexOf('.')));
  assert.equal(runs.length, 200, 'no job ran twice');
  assert.equal(new Set(runs).size, 200);
});
