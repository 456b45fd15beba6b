// No request stalls the master: a log is served at its reader's pace and dropped when the reader
// goes; and a master whose own loop was stopped does not blame workers for its deafness.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, MAIN, TOKEN, killAndWait, until } from './harness.js';

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb === undefined ? 0 : Number(kb) / 1024;
}

async function healthy(httpPort: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(5_000) });
  return res.ok;
}

void describe('a slow log reader', () => {
  const cluster = new Cluster();
  after(() => cluster.close());

  void test('costs the master a page, not the log, and nothing once it leaves', async (t) => {
    await cluster.startMaster();
    await cluster.startWorker('pace', { slots: 1 });
    const client = await cluster.client();
    const printed = 48 * 1024 * 1024;
    const { jobId } = await client.submit({ command: `sh -c 'yes ${'abcdefghij'.repeat(10)} | head -c ${printed}'` });
    assert.equal((await client.wait(jobId, { timeout: 600_000 })).state, 'succeeded');
    const masterPid = cluster.master!.pid!;
    await sleep(500);
    const before = rssMb(masterPid);

    // `titan logs` into a pipe nobody reads: the CLI blocks on its stdout, stops reading its socket.
    const reader = spawn(process.execPath, [MAIN, 'logs', jobId, '--master', `127.0.0.1:${cluster.port}`], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, TITAN_HOME: cluster.dir, TITAN_TOKEN: TOKEN },
    });
    let peak = before;
    try {
      for (let i = 0; i < 30; i++) {
        await sleep(100);
        peak = Math.max(peak, rssMb(masterPid));
      }
      assert.equal(await healthy(cluster.httpPort), true, '/healthz answers while the reader is stuck');
    } finally {
      await killAndWait(reader, 'SIGKILL');
    }
    for (let i = 0; i < 10; i++) {
      await sleep(100);
      peak = Math.max(peak, rssMb(masterPid));
    }
    assert.equal(await healthy(cluster.httpPort), true, '/healthz answers after the reader left');
    t.diagnostic(`master RSS ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB at most with a stuck reader of a ${printed / 1048576} MiB log`);
    // Holding the log for the reader would take its 48 MiB (more, encoded); a page is 256 KiB.
    assert.ok(peak - before < 24, `the master grew by ${(peak - before).toFixed(0)} MB serving one stuck reader`);

    // A reader that keeps up still gets every line.
    let count = 0;
    await client.logs(jobId, (batch) => (count += batch.length));
    assert.equal(count, Math.floor(printed / 101) + (printed % 101 > 0 ? 1 : 0));
  });
});

void describe('a master stopped longer than the heartbeat timeout', () => {
  const cluster = new Cluster(2_000);
  after(() => cluster.close());

  void test('keeps its workers and runs nothing twice once it continues', async (t) => {
    await cluster.startMaster();
    await cluster.startWorker('patient', { slots: 4 });
    const client = await cluster.client();
    const done = await Promise.all([1, 2, 3].map(async (i) => (await client.submit({ command: `echo quick ${i}` })).jobId));
    for (const id of done) assert.equal((await client.wait(id, { timeout: 60_000 })).state, 'succeeded');
    // One job finishes while the master is stopped: its result waits in the socket.
    const { jobId: sleeper } = await client.submit({ command: "sh -c 'sleep 1; echo slept'" });
    await until('the sleeper to run', async () => (await client.status(sleeper)).state === 'running');

    const master = cluster.master!;
    master.kill('SIGSTOP');
    try {
      await sleep(5_000); // 2.5 heartbeat timeouts
    } finally {
      master.kill('SIGCONT');
    }
    assert.equal((await client.wait(sleeper, { timeout: 60_000 })).state, 'succeeded');
    await sleep(3_000); // long enough for a wrongly expired deadline to have acted

    const stats = await client.stats();
    assert.ok(
      stats.workers.some((w) => w.id === 'patient' && w.health === 'healthy'),
      'the worker is still there and healthy',
    );
    for (const id of [...done, sleeper]) {
      const { events } = await client.history(id);
      const runs = events.filter((e) => e.to === 'running').length;
      const lost = events.filter((e) => (e.detail ?? '').includes('lost'));
      assert.equal(runs, 1, `${id} ran ${runs} times: ${JSON.stringify(events)}`);
      assert.deepEqual(lost, [], `${id} saw its worker lost`);
    }
    t.diagnostic('4 jobs, one finishing during a 5 s SIGSTOP of a master with a 2 s heartbeat timeout: each ran once, worker kept');
  });
});

void describe('a master that reads a burst of reports after a stall', () => {
  const cluster = new Cluster(2_000);
  after(() => cluster.close());

  void test('a job it places while reading them is not taken for one its worker lost', async () => {
    await cluster.startMaster();
    await cluster.startWorker('one-slot', { slots: 1 });
    const client = await cluster.client();
    const { jobId: first } = await client.submit({ command: "sh -c 'sleep 1; echo first'" });
    const { jobId: next } = await client.submit({ command: "sh -c 'sleep 2; echo next'" });
    await until('the first job to run', async () => (await client.status(first)).state === 'running');

    // The first job ends while the master is stopped: its result and several heartbeats wait in
    // one socket. Read together, the result places the next job and the heartbeats that follow
    // were sent before its dispatch could have reached the worker.
    const master = cluster.master!;
    master.kill('SIGSTOP');
    try {
      await sleep(4_000);
    } finally {
      master.kill('SIGCONT');
    }
    assert.equal((await client.wait(next, { timeout: 60_000 })).state, 'succeeded');
    const { events } = await client.history(next);
    assert.equal(events.filter((e) => e.to === 'running').length, 1, JSON.stringify(events));
    assert.deepEqual(
      events.filter((e) => /janitor|lost/.test(e.detail ?? '')),
      [],
      'the janitor never reaped it',
    );
  });
});
