import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterForSuite, until } from './harness.js';

describe('delayed and timed one-off jobs and DAG runs', () => {
  const suite = clusterForSuite('w1');
  const cluster = suite.cluster;

  // Only lower bounds on start times and a hold far beyond any test's length: nothing depends on
  // how fast this machine submits.
  test('titan run --at holds a job until that time; --delay until that long after submission', async () => {
    const farAhead = new Date(Date.now() + 3_600_000);
    const held = await cluster.cli(['run', '--at', farAhead.toISOString(), '--json', '--', 'true']);
    assert.equal(held.code, 0, held.stderr);
    const heldId = (JSON.parse(held.stdout) as { jobId: string }).jobId;
    const waiting = await suite.client.status(heldId);
    assert.equal(waiting.state, 'queued');
    const dueIn = Number(/delayed: due in (\d+) s/.exec(waiting.reason ?? '')?.[1]);
    assert.ok(dueIn > 3_000 && dueIn <= 3_600, `reason: ${String(waiting.reason)}`);
    assert.equal((await cluster.cli(['cancel', heldId])).code, 0);

    const at = new Date(Date.now() + 1000);
    const timed = await cluster.cli(['run', '--at', at.toISOString(), '--json', '--', 'true']);
    assert.equal(timed.code, 0, timed.stderr);
    const { jobId } = JSON.parse(timed.stdout) as { jobId: string };
    const delayed = await cluster.cli(['run', '--delay', '1s', '--json', '--', 'true']);
    const delayedId = (JSON.parse(delayed.stdout) as { jobId: string }).jobId;
    const done = await suite.client.wait(jobId, { timeout: 30_000 });
    assert.equal(done.state, 'succeeded');
    assert.ok((done.startedAt ?? 0) >= at.getTime(), `started ${String(done.startedAt)}, not before ${at.getTime()}`);
    const second = await suite.client.wait(delayedId, { timeout: 30_000 });
    assert.equal(second.state, 'succeeded');
    assert.ok((second.startedAt ?? 0) >= second.submittedAt + 1000, 'not before its delay');
  });

  test("a pipeline's run_at, or titan dag --delay, holds the whole run", async () => {
    const dir = join(cluster.dir, 'timed');
    mkdirSync(dir, { recursive: true });
    const at = new Date(Date.now() + 1500);
    const file = join(dir, 'p.yaml');
    writeFileSync(
      file,
      [
        'name: timed',
        `run_at: ${at.toISOString()}`,
        'jobs:',
        '  - id: a',
        '    command: "true"',
        '  - id: b',
        '    command: "true"',
        '    depends_on: [a]',
        '',
      ].join('\n'),
    );
    const { dagId } = await suite.client.submitPipeline(file);
    const final = await suite.client.waitDag(dagId, 15_000);
    assert.equal(final.dag.state, 'succeeded');
    const first = final.jobs.find((j) => j.key === 'a');
    assert.ok((first?.startedAt ?? 0) >= at.getTime(), 'the root waited for run_at');

    const bad = await cluster.cli(['dag', file, '--at', '2026-12-01T08:00']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--at must be an ISO 8601 time with a zone.*add its zone/);
    const later = await cluster.cli(['dag', file.replace('p.yaml', 'p.yaml'), '--delay', '1s', '--wait', '--json']);
    assert.equal(later.code, 0, later.stderr);
    const run = JSON.parse(later.stdout) as { dag: { createdAt?: number }; jobs: Array<{ key: string; startedAt: number | null; submittedAt: number }> };
    const root = run.jobs.find((j) => j.key === 'a');
    assert.ok(root !== undefined && (root.startedAt ?? 0) >= root.submittedAt + 1000, 'the run started after its delay');
  });

  test('a cron on one script or command: titan schedule add <script|command> --cron', async () => {
    const ledger = join(cluster.dir, 'tick.ledger');
    const script = join(cluster.dir, 'tick.sh');
    writeFileSync(script, `echo "$TITAN_SCHEDULE_DUE_AT" >> ${ledger}\n`);
    const added = await cluster.cli(['schedule', 'add', script, '--cron', '* * * * * *', '--json']);
    assert.equal(added.code, 0, added.stderr);
    const schedule = JSON.parse(added.stdout) as { id: string; name: string };
    assert.equal(schedule.name, 'tick.sh');
    await until('the script to run on its schedule', () => Promise.resolve(existsSync(ledger) && readFileSync(ledger, 'utf8').trim() !== ''), 15_000);
    assert.equal((await cluster.cli(['schedule', 'rm', schedule.id])).code, 0);
    const command = await cluster.cli(['schedule', 'add', `echo hi >> ${ledger}.cmd`, '--cron', '* * * * * *', '--name', 'hi', '--json']);
    assert.equal(command.code, 0, command.stderr);
    const second = JSON.parse(command.stdout) as { id: string; name: string };
    assert.equal(second.name, 'hi');
    await until('the command to run on its schedule', () => Promise.resolve(existsSync(`${ledger}.cmd`)), 15_000);
    assert.equal((await cluster.cli(['schedule', 'rm', second.id])).code, 0);
  });
});
