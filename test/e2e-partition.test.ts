/**
 * A worker cut off from its master by the network (its own namespace, the link taken down: no
 * RST, packets vanish) stops its attempts when its lease runs out; the master gives them to another
 * worker only after that; reconnected, the cut-off worker's late results are recorded as superseded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awaitLine, killAndWait, MAIN, TOKEN, until } from './harness.js';
import { completionCounts, processesOf, startedEverywhere, workload } from './job-ledger.js';
import { createNetNs } from './netns.js';
import { TitanClient } from '../src/sdk/client.js';

test('a worker cut off by a network partition runs nothing its replacement runs: 0 scripts completed twice, late results recorded', async (t) => {
  const netns = createNetNs();
  if (typeof netns === 'string') {
    t.skip(netns);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'titan-partition-'));
  chmodSync(dir, 0o711); // a root worker's jobs (titan-job) pass through to their workspaces and the ledger
  const children: ChildProcess[] = [];
  const clients: TitanClient[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
    await Promise.all(children.map((c) => killAndWait(c, 'SIGKILL')));
    netns.remove();
    rmSync(dir, { recursive: true, force: true });
  });
  const titan = (prefix: readonly string[], args: readonly string[]): ChildProcess => {
    const [file, ...rest] = [...prefix, process.execPath, MAIN, ...args];
    const child = spawn(file ?? process.execPath, rest, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TITAN_HOME: dir, TITAN_LOG_LEVEL: 'warn' },
    });
    child.stderr?.on('data', (c: Buffer) => {
      if (process.env.TITAN_TEST_VERBOSE) process.stderr.write(c);
    });
    children.push(child);
    return child;
  };
  const master = titan(
    [],
    [
      'master',
      '--listen',
      `${netns.hostAddress}:0`,
      '--insecure',
      '--no-http',
      '--data-dir',
      join(dir, 'master'),
      '--token',
      TOKEN,
      '--heartbeat-interval',
      '200',
      '--heartbeat-timeout',
      '3000',
    ],
  );
  const port = Number((await awaitLine(master, /listening on [\d.]+:(\d+)/, 15_000, 'master'))[1]);
  const client = await TitanClient.connect({ host: netns.hostAddress, port, token: TOKEN });
  clients.push(client);
  const worker = (id: string, prefix: readonly string[]): ChildProcess =>
    titan(prefix, ['worker', '--master', `${netns.hostAddress}:${port}`, '--token', TOKEN, '--id', id, '--work-dir', join(dir, id), '--slots', '4']);
  const registered = (id: string): Promise<unknown> =>
    until(`worker ${id} to register`, async () => (await client.stats()).workers.some((w) => w.id === id && w.health === 'healthy'));

  worker('islander', netns.exec);
  await registered('islander');
  const { jobIds } = await client.submitMany(workload(dir, 6));
  await startedEverywhere(dir, jobIds);

  netns.setLink(false);
  // Nothing reaches the islander, which is alive and well: it must stop its attempts itself.
  await until('the cut-off worker to kill its attempts when its lease runs out', async () => processesOf(jobIds, 1).length === 0, 10_000);
  worker('mainland', []);
  for (const jobId of jobIds) {
    const job = await client.wait(jobId);
    assert.equal(job.state, 'succeeded', jobId);
    assert.equal(job.workerId, 'mainland');
  }

  netns.setLink(true);
  for (const jobId of jobIds) {
    await until(
      `the islander's late result for ${jobId} to be recorded`,
      async () => {
        const events = (await client.history(jobId)).events.map((e) => e.detail ?? '');
        return events.some((d) => /^result of superseded attempt 1 from worker islander: killed by its worker when its lease ran out/.test(d));
      },
      30_000,
    );
  }
  const counts = completionCounts(dir);
  assert.equal(counts.size, 5);
  for (const [script, count] of counts) assert.equal(count, 1, `${script} completed ${count} times`);
});
