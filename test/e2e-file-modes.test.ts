/**
 * The master's data dir holds job environments, KV values, logs and keys; the worker's work dir
 * its pid registry, artifacts and job logs. Started under umask 000 (the loosest an operator could
 * have), every one of them is still private: folders 0700 (0711 where a job user must pass
 * through), files 0600.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, type WorkerHandle } from './harness.js';

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

describe('files are private whatever the umask', () => {
  const cluster = new Cluster();
  let worker: WorkerHandle;
  before(async () => {
    const previous = process.umask(0);
    try {
      await cluster.startMaster();
      worker = await cluster.startWorker('modes', { slots: 1 });
    } finally {
      process.umask(previous);
    }
    const client = await cluster.client();
    await client.kv.put('secret', 'value');
    const out = await cluster.cli(['run', '--wait', '--env', 'API_KEY=hunter2', '--', 'sh', '-c', 'echo hello']);
    assert.equal(out.code, 0, out.stderr);
  });
  after(() => cluster.close());

  test('the master data dir is 0700; the store, its WAL and shared memory, and the keys 0600', () => {
    assert.equal(modeOf(cluster.dataDir), '700');
    for (const file of ['titan.db', 'titan.db-wal', 'titan.db-shm', 'audit.key', 'job-token.key']) {
      assert.equal(modeOf(join(cluster.dataDir, file)), '600', file);
    }
  });

  test("the worker's work dir lets others through at most (0711 when jobs run as another user), its files are 0600", () => {
    const jobsAsOther = process.getuid?.() === 0;
    assert.equal(modeOf(worker.workDir), jobsAsOther ? '711' : '700');
    assert.equal(modeOf(join(worker.workDir, 'artifacts')), '700');
    assert.equal(modeOf(join(worker.workDir, 'pids.json')), '600');
    const jobs = join(worker.workDir, 'jobs');
    assert.equal(modeOf(jobs), jobsAsOther ? '711' : '700');
    const [job] = readdirSync(jobs);
    assert.ok(job !== undefined, 'the job left its workspace');
    assert.equal(modeOf(join(jobs, job, 'stdout.log')), '600');
  });
});
