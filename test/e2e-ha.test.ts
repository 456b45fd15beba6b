import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DagJobRequest } from '../src/protocol/messages.js';
import { killAndWait, until } from './harness.js';
import { HaCluster, type HaMaster } from './ha-cluster.js';

/**
 * Three masters on one PostgreSQL and two workers given the list of them (issue 18, docs/HA.md):
 * one leads, the others send everyone to it; when the leader dies or is cut off, another leads,
 * the workers keep their running jobs and report them to it, and nothing runs twice.
 */

const LAYERS = 20;
const PER_LAYER = 100;

/** A layered DAG: each job of layer i > 0 waits for two jobs of layer i - 1; every job logs its start and end to one file. */
function layeredDag(marks: string): DagJobRequest[] {
  const jobs: DagJobRequest[] = [];
  for (let layer = 0; layer < LAYERS; layer++) {
    for (let i = 0; i < PER_LAYER; i++) {
      const key = `l${layer}j${i}`;
      const parents = layer === 0 ? [] : [`l${layer - 1}j${i}`, `l${layer - 1}j${(i + 1) % PER_LAYER}`];
      jobs.push({ key, parents, run: { kind: 'command', command: `sh -c 'echo start ${key} >> ${marks}; echo done ${key} >> ${marks}'` } });
    }
  }
  return jobs;
}

function lines(file: string): string[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
}

describe('several masters on one PostgreSQL', () => {
  // A lease long enough that a loaded machine's stalls do not cost a leader its lease, short enough to keep the failovers quick.
  const cluster = new HaCluster({ leaseTtl: '4s' });
  let masters: HaMaster[] = [];

  before(async () => {
    await cluster.open();
    masters = [await cluster.startMaster('a'), await cluster.startMaster('b'), await cluster.startMaster('c')];
    await cluster.leader();
    await cluster.startWorker('w1', 4);
    await cluster.startWorker('w2', 4);
  });
  after(() => cluster.close());

  test('exactly one leads; the standbys name it on /healthz, and the CLI given every master runs a job through it', async () => {
    const leader = await cluster.leader();
    const standbys = masters.filter((m) => m !== leader);
    for (const standby of standbys) {
      const health = await cluster.health(standby);
      assert.equal(health?.role, 'standby');
      assert.equal(health?.leader?.tcp, `127.0.0.1:${leader.port}`);
    }
    const result = await cluster.cli(['run', '--wait', '--', 'echo', 'ran on the leader']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ran on the leader$/m);
  });

  test('a 2,000-job DAG survives two SIGKILLs of the leader: every job succeeds, each script completes once, no child starts before its parents', async () => {
    const marks = join(cluster.sharedFolder('dag-marks'), 'log');
    const client = await cluster.client();
    const jobs = layeredDag(marks);
    const { dagId } = await client.submitDag('failover', jobs);
    const killed: string[] = [];
    for (const fraction of [0.25, 0.6]) {
      await until(
        `${fraction * 100}% of the DAG to finish`,
        async () => lines(marks).filter((l) => l.startsWith('done')).length >= fraction * jobs.length,
        120_000,
      );
      const leader = await cluster.leader();
      await killAndWait(leader.process, 'SIGKILL');
      killed.push(leader.name);
      await cluster.leader(); // another one leads
      await cluster.restartMaster(leader); // and the dead one comes back as a standby
    }
    let last: Awaited<ReturnType<typeof client.dagStatus>> | undefined;
    const status = await until(
      'the DAG to finish',
      async () => {
        last = await client.dagStatus(dagId);
        return last.dag.state === 'running' ? false : last;
      },
      180_000,
    ).catch((err: unknown) => {
      // Which jobs held it up, and why: what a failure here needs to be understood.
      const stuck = (last?.jobs ?? []).filter((j) => j.state !== 'succeeded').slice(0, 20);
      throw new Error(`${(err as Error).message}; not succeeded: ${JSON.stringify(stuck.map((j) => [j.id, j.state, j.workerId, j.attempt, j.reason]))}`);
    });
    assert.equal(status.dag.state, 'succeeded', JSON.stringify(status.dag));
    assert.equal(new Set(killed).size, 2, 'two different leaders were killed');

    const log = lines(marks);
    const done = log.filter((l) => l.startsWith('done ')).map((l) => l.slice(5));
    const twice = done.filter((key, i) => done.indexOf(key) !== i);
    assert.deepEqual(twice, [], 'no script completed twice');
    assert.equal(new Set(done).size, jobs.length, 'every script completed');
    const position = new Map<string, number>();
    log.forEach((line, i) => {
      if (line.startsWith('done ')) position.set(line.slice(5), i);
    });
    const early: string[] = [];
    log.forEach((line, i) => {
      if (!line.startsWith('start ')) return;
      const job = jobs.find((j) => j.key === line.slice(6))!;
      for (const parent of job.parents ?? []) if ((position.get(parent) ?? Infinity) > i) early.push(`${job.key} before ${parent}`);
    });
    assert.deepEqual(early, [], 'no child started before a parent finished');

    // The ledger the three masters wrote in turn is one intact chain, and no master took a fresh store for a wiped one.
    const verify = await cluster.cli(['audit', 'verify']);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /audit ledger intact/);
    for (const master of masters) assert.doesNotMatch(master.log, /TAMPERED/, `master ${master.name}`);
  });

  test('a leader frozen with SIGSTOP past its lease is replaced; on SIGCONT it dispatches and commits nothing and serves as a standby', async () => {
    const frozen = await cluster.leader();
    frozen.process.kill('SIGSTOP');
    try {
      const next = await cluster.leader();
      assert.notEqual(next, frozen);
      const client = await cluster.client();
      const { jobId } = await client.submit({ command: 'echo while the old leader sleeps' });
      assert.equal((await client.wait(jobId, { timeout: 60_000 })).state, 'succeeded');
    } finally {
      frozen.process.kill('SIGCONT');
    }
    await until('the old leader to serve as a standby', async () => (await cluster.health(frozen))?.role === 'standby', 30_000);
    const leader = await cluster.leader();
    assert.notEqual(leader, frozen, 'the lead stayed with the master that took it');
    assert.doesNotMatch(frozen.log, /performing the effects of a committed batch failed/);
  });

  test("terminating the leader's PostgreSQL sessions makes it step down, and another leads", async () => {
    const leader = await cluster.leader();
    const ended = await cluster.terminateSessionsOf(leader);
    assert.ok(ended > 0, 'the leader had sessions to end');
    await until('the old leader to step down', async () => (await cluster.health(leader))?.role === 'standby', 30_000);
    const next = await cluster.leader();
    assert.notEqual(next, leader);
    const result = await cluster.cli(['run', '--wait', '--', 'echo', 'after the takeover']);
    assert.equal(result.code, 0, result.stderr);
  });
});
