/**
 * A worker's death or isolation takes its jobs with it (docs/RELIABILITY.md, "Leases"): real
 * processes, real SIGKILL and SIGSTOP; each script counts its own completions in a marker file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, killAndWait, until } from './harness.js';
import { completionCounts, processesOf, startedEverywhere, workload } from './job-ledger.js';
import type { TitanClient } from '../src/sdk/client.js';

/** Heartbeat timeout of these clusters: the lease is 2.5 s, re-queueing happens after 3 s of silence. */
const TIMEOUT_MS = 3_000;

async function historyOf(client: TitanClient, jobId: string): Promise<string[]> {
  return (await client.history(jobId)).events.map((e) => e.detail ?? '');
}

test('a worker killed with SIGKILL takes every process of its jobs with it within a second, and each job completes exactly once', async (t) => {
  const cluster = new Cluster(TIMEOUT_MS);
  t.after(() => cluster.close());
  await cluster.startMaster();
  const doomed = await cluster.startWorker('doomed', { slots: 4 });
  const client = await cluster.client();
  const { jobIds } = await client.submitMany(workload(cluster.dir, 4));
  await startedEverywhere(cluster.dir, jobIds);
  assert.ok(processesOf(jobIds, 1).length >= 9, 'each job runs a shell and a sleep, the grandchild too');

  await killAndWait(doomed.process, 'SIGKILL');
  const killedAt = Date.now();
  await until("no process of the dead worker's jobs to remain", async () => processesOf(jobIds, 1).length === 0, 1_000);
  t.diagnostic(`job processes gone ${Date.now() - killedAt} ms after the worker's exit`);

  await cluster.startWorker('survivor', { slots: 4 });
  for (const jobId of jobIds) {
    const job = await client.wait(jobId);
    assert.equal(job.state, 'succeeded', jobId);
    assert.equal(job.workerId, 'survivor');
    assert.equal(job.attempt, 2);
  }
  const counts = completionCounts(cluster.dir);
  assert.equal(counts.size, 5, `four jobs and one grandchild completed: ${JSON.stringify([...counts])}`);
  for (const [script, count] of counts) assert.equal(count, 1, `${script} completed ${count} times`);
});

test('a worker frozen with SIGSTOP past its lease loses its attempts to another worker; on SIGCONT nothing has run twice and its late results are recorded as superseded', async (t) => {
  const cluster = new Cluster(TIMEOUT_MS);
  t.after(() => cluster.close());
  await cluster.startMaster();
  const frozen = await cluster.startWorker('frozen', { slots: 4 });
  const client = await cluster.client();
  const { jobIds } = await client.submitMany(workload(cluster.dir, 6));
  await startedEverywhere(cluster.dir, jobIds);
  frozen.process.kill('SIGSTOP');
  t.after(() => void frozen.process.kill('SIGCONT'));
  // The frozen worker cannot act: its watchdog ends the attempts when the lease runs out.
  await until("the frozen worker's job processes to be killed by its watchdog", async () => processesOf(jobIds, 1).length === 0, 10_000);
  await cluster.startWorker('healthy', { slots: 4 });
  for (const jobId of jobIds) {
    const job = await client.wait(jobId);
    assert.equal(job.state, 'succeeded', jobId);
    assert.equal(job.workerId, 'healthy');
  }

  frozen.process.kill('SIGCONT');
  for (const jobId of jobIds) {
    const history = await until(`the late result of ${jobId} to be recorded`, async () => {
      const details = await historyOf(client, jobId);
      return details.some((d) => d.startsWith('result of superseded attempt 1')) ? details : undefined;
    });
    assert.ok(
      history.some((d) => /result of superseded attempt 1 from worker frozen: killed by its worker when its lease ran out/.test(d)),
      history.join('\n'),
    );
  }
  const counts = completionCounts(cluster.dir);
  assert.equal(counts.size, 5);
  for (const [script, count] of counts) assert.equal(count, 1, `${script} completed ${count} times`);
});

test('the jobs of a worker frozen with SIGSTOP are paused with it: work that could finish during the freeze does not, and it runs once elsewhere', async (t) => {
  const cluster = new Cluster(TIMEOUT_MS);
  t.after(() => cluster.close());
  await cluster.startMaster();
  const frozen = await cluster.startWorker('frozen', { slots: 4 });
  const client = await cluster.client();
  const go = join(cluster.dir, 'go');
  const markers = cluster.sharedFolder('markers');
  // Each job waits for the go file, then completes at once: created during the freeze, it tells frozen jobs from paused ones.
  const command = `touch ${markers}/$TITAN_JOB_ID.$TITAN_ATTEMPT.started; while [ ! -e ${go} ]; do sleep 0.05; done; echo done >> ${markers}/$TITAN_JOB_ID`;
  const { jobIds } = await client.submitMany([1, 2, 3, 4].map(() => ({ command })));
  await until('every job to start', async () => jobIds.every((id) => existsSync(join(markers, `${id}.1.started`))));

  frozen.process.kill('SIGSTOP');
  t.after(() => void frozen.process.kill('SIGCONT'));
  await until(
    "the frozen worker's job processes to be stopped too",
    async () => {
      const pids = processesOf(jobIds, 1);
      return pids.length >= 4 && pids.every((pid) => stateOf(pid) === 'T' || stateOf(pid) === null);
    },
    5_000,
  );
  writeFileSync(go, '');
  await cluster.startWorker('healthy', { slots: 4 });
  for (const jobId of jobIds) {
    const job = await client.wait(jobId);
    assert.equal(job.state, 'succeeded', jobId);
    assert.equal(job.workerId, 'healthy');
  }
  frozen.process.kill('SIGCONT');
  for (const jobId of jobIds) {
    await until(`the late result of ${jobId} to be recorded`, async () =>
      (await historyOf(client, jobId)).some((d) => d.startsWith('result of superseded attempt 1 from worker frozen')),
    );
  }
  for (const jobId of jobIds) assert.equal(readFileSync(join(markers, jobId), 'utf8'), 'done\n', `${jobId} completed once`);
});

/** The process's state letter from /proc (null once it is gone). */
function stateOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}
