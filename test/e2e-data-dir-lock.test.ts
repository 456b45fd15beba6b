// One master per data dir: a second one refuses to start and names the first; the first is
// untouched; the lock dies with its holder, so a master killed with -9 is replaced at once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { Cluster, MAIN, TOKEN, outputOf } from './harness.js';

void describe('a second master on the same data dir', () => {
  const cluster = new Cluster();
  after(() => cluster.close());

  // A master that started anyway is killed after 30 s (and then has no exit code).
  const second = async () => {
    const child = spawn(
      process.execPath,
      [MAIN, 'master', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--data-dir', cluster.dataDir, '--token', TOKEN],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TITAN_HOME: cluster.dir, TITAN_LOG_LEVEL: 'warn' },
      },
    );
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      return await outputOf(child);
    } finally {
      clearTimeout(guard);
    }
  };

  void test('refuses to start, naming the pid of the live one, which keeps working', async () => {
    await cluster.startMaster();
    await cluster.startWorker('w1', { slots: 1 });
    const client = await cluster.client();
    const before = (await client.submit({ command: 'echo before' })).jobId;
    assert.equal((await client.wait(before, { timeout: 60_000 })).state, 'succeeded');

    const refused = await second();
    assert.equal(refused.code, 2, `exit code 2 (bad usage or input); stdout: ${refused.stdout}`);
    assert.match(refused.stderr, new RegExp(`in use by another master \\(pid ${cluster.master!.pid}\\)`));

    const { jobId } = await client.submit({ command: 'echo after' });
    assert.equal((await client.wait(jobId, { timeout: 60_000 })).state, 'succeeded');
    assert.deepEqual(
      (await client.logs(jobId)).map((l) => l.line),
      ['after'],
    );
    const audit = await cluster.cli(['audit', 'verify']);
    assert.equal(audit.code, 0, audit.stdout + audit.stderr);
  });

  void test('starts once the holder is gone, even killed with SIGKILL', async () => {
    await cluster.killMaster();
    await cluster.startMaster();
    const client = await cluster.client();
    assert.ok((await client.list({ limit: 10 })).length >= 2, 'the jobs are still there');
  });
});
