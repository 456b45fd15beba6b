// Bounded growth: with a short --retention, finished jobs go with their events, logs and
// workspaces; the DLQ and unfinished jobs stay; deletion runs in measured small batches.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, TOKEN, codeOf, until } from './harness.js';

void describe('retention', () => {
  const cluster = new Cluster();
  after(() => cluster.close());

  void test('deletes finished history and workspaces; keeps the DLQ and running jobs', async () => {
    await cluster.startMaster(['--retention', '2s']);
    const worker = await cluster.startWorker('keeper', { slots: 4, args: ['--retention', '2s'] });
    const client = await cluster.client();
    const done = await Promise.all(['one', 'two'].map(async (word) => (await client.submit({ command: `echo ${word}` })).jobId));
    const { jobId: dead } = await client.submit({ command: 'sh -c "echo failing; exit 3"', retries: 1 });
    const { jobId: running } = await client.submit({ command: 'sleep 60' });
    for (const id of done) assert.equal((await client.wait(id, { timeout: 60_000 })).state, 'succeeded');
    assert.equal((await client.wait(dead, { timeout: 60_000 })).state, 'dead');
    await until('the sleeper to run', async () => (await client.status(running)).state === 'running');
    for (const id of done) assert.ok(existsSync(join(worker.workDir, 'jobs', id)), 'a finished job has its workspace at first');

    await sleep(2_500);
    const gc = await cluster.cli(['gc', '--json']);
    assert.equal(gc.code, 0, gc.stderr);
    const pass = JSON.parse(gc.stdout) as { jobs: number; batches: number };
    assert.ok(pass.batches >= 1);

    for (const id of done) {
      assert.equal(await codeOf(client.status(id)), 'E_UNKNOWN_JOB', `${id} is gone`);
      assert.equal(await codeOf(client.logs(id)), 'E_UNKNOWN_JOB');
    }
    assert.equal((await client.status(dead)).state, 'dead', 'the DLQ entry stays');
    assert.deepEqual(
      (await client.logs(dead)).map((l) => l.line),
      ['failing', 'failing'],
      'with its logs',
    );
    assert.equal((await client.status(running)).state, 'running');
    await until('the worker to remove the finished workspaces', async () => done.every((id) => !existsSync(join(worker.workDir, 'jobs', id))), 15_000);
    assert.ok(existsSync(join(worker.workDir, 'jobs', running)), 'a running job keeps its folder');

    const metrics = await (await fetch(`http://127.0.0.1:${cluster.httpPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    assert.match(metrics, /titan_retention_batch_ms_max \d/);
    assert.match(metrics, /titan_retention_deleted\{kind="jobs"\} [1-9]/);
    assert.match(metrics, /titan_store_bytes\{file="wal"\} \d/);
  });
});
