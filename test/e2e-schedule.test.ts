import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TitanClient } from '../src/sdk/client.js';
import type { ScheduleView } from '../src/sdk/schedules.js';
import { clusterForSuite, until } from './harness.js';

/** A one-job pipeline whose job appends the due time it runs for to `ledger`. */
function ledgerPipeline(dir: string, name: string, ledger: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, ['name: ' + name, 'jobs:', '  - id: tick', `    command: 'echo "$TITAN_SCHEDULE_DUE_AT" >> ${ledger}'`, ''].join('\n'));
  return file;
}

const ledgerLines = (ledger: string): string[] =>
  existsSync(ledger)
    ? readFileSync(ledger, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];

describe('cron schedules on a real cluster', () => {
  const suite = clusterForSuite('w1');
  const cluster = suite.cluster;

  const runsOf = async (name: string): Promise<Awaited<ReturnType<TitanClient['listDags']>>> =>
    (await suite.client.listDags(1000)).filter((d) => d.name === name);

  test('a bad cron expression is refused naming it, with an example that works', async () => {
    const file = ledgerPipeline(join(cluster.dir, 'bad'), 'bad', join(cluster.dir, 'bad.ledger'));
    const result = await cluster.cli(['schedule', 'add', file, '--cron', '*/5 * * *']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /bad cron expression "\*\/5 \* \* \*".*e\.g\. "\*\/5 \* \* \* \*"/);
    const zone = await cluster.cli(['schedule', 'add', file, '--cron', '* * * * *', '--tz', 'Mars/Olympus']);
    assert.equal(zone.code, 2);
    assert.match(zone.stderr, /unknown time zone "Mars\/Olympus"/);
    assert.deepEqual(await suite.client.schedules.list(), []);
  });

  test('a 6-field cron runs its pipeline every second; pause stops it, resume restarts it, rm removes it', async () => {
    const ledger = join(cluster.dir, 'every.ledger');
    const file = ledgerPipeline(join(cluster.dir, 'every'), 'every-second', ledger);
    const added = await cluster.cli(['schedule', 'add', file, '--cron', '* * * * * *', '--tz', 'UTC', '--json']);
    assert.equal(added.code, 0, added.stderr);
    const schedule = JSON.parse(added.stdout) as ScheduleView;
    assert.equal(schedule.overlap, 'skip');
    assert.equal(schedule.misfire, 'skip');
    await until('two scheduled runs to succeed', async () => (await runsOf('every-second')).filter((d) => d.state === 'succeeded').length >= 2);

    const paused = await cluster.cli(['schedule', 'pause', schedule.id, '--json']);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal((JSON.parse(paused.stdout) as ScheduleView).nextDueAt, null);
    await until('its runs to finish', async () => (await runsOf('every-second')).every((d) => d.state !== 'running'));
    const before = (await runsOf('every-second')).length;
    // Nothing to await here: the point is that nothing happens across several due times.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await runsOf('every-second')).length, before, 'no run while paused');
    const listed = await cluster.cli(['schedule', 'ls']);
    assert.match(listed.stdout, new RegExp(`${schedule.id}\\s+every-second\\s+\\* \\* \\* \\* \\* \\*\\s+UTC\\s+paused`));

    await suite.client.schedules.resume(schedule.id);
    await until('a run after resume', async () => (await runsOf('every-second')).length > before);
    const removed = await cluster.cli(['schedule', 'rm', schedule.id]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(
      (await suite.client.schedules.list()).map((s) => s.id),
      [],
    );
    const lines = ledgerLines(ledger);
    assert.equal(new Set(lines).size, lines.length, 'each due time ran once');
  });

  test('a master killed right after a fire comes back without firing any due time twice', async () => {
    const ledger = join(cluster.dir, 'restart.ledger');
    const file = ledgerPipeline(join(cluster.dir, 'restart'), 'restart-safe', ledger);
    const schedule = await suite.client.schedules.add(file, { cron: '* * * * * *', overlap: 'allow', misfire: 'run_once' });
    await until('two runs', async () => ledgerLines(ledger).length >= 2);
    const seen = ledgerLines(ledger).length;
    await until('the next fire', async () => ledgerLines(ledger).length > seen, 5000);
    await cluster.killMaster();
    await cluster.startMaster();
    await suite.reconnect();
    const afterRestart = ledgerLines(ledger).length;
    await until('three more runs after the restart', async () => ledgerLines(ledger).length >= afterRestart + 3, 20_000);
    await suite.client.schedules.pause(schedule.id);
    await until('its runs to finish', async () => (await runsOf('restart-safe')).every((d) => d.state !== 'running'));

    const lines = ledgerLines(ledger);
    assert.equal(new Set(lines).size, lines.length, `a due time ran twice: ${lines.join(', ')}`);
    assert.equal((await runsOf('restart-safe')).length, lines.length, 'one DAG run per due time');
    const [listed] = await suite.client.schedules.list();
    assert.equal(listed?.lastDueAt, Math.max(...lines.map(Number)), 'the recorded last due time is the last one run');
  });
});
