import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TitanClient } from '../src/sdk/client.js';
import type { DagJobRequest } from '../src/protocol/messages.js';
import { Cluster } from './harness.js';

/**
 * The master bounds what anyone may send it (--max-body-entries, 100,000 by default). Its own
 * replies can be wider — the status of a DAG the master accepted lists every job — and a client
 * must read them, or a large DAG could be submitted but never waited on.
 */
describe('replies wider than what the master accepts from clients', () => {
  const cluster = new Cluster();
  let client: TitanClient;
  before(async () => {
    await cluster.startMaster();
    client = await cluster.client();
  });
  after(() => cluster.close());

  test('a 12,000-job DAG is accepted and its whole status is read back by the client', async () => {
    // No worker is started, so the jobs stay queued: only the replies are under test.
    const jobs: DagJobRequest[] = Array.from({ length: 12_000 }, (_, i) => ({
      key: `j${i}`,
      run: { kind: 'command', command: '/bin/true' },
      parents: i === 0 ? [] : [`j${i - 1}`],
    }));
    const { dagId, jobIds } = await client.submitDag('wide', jobs);
    assert.equal(jobIds.length, 12_000);
    const status = await client.dagStatus(dagId);
    assert.equal(status.jobs.length, 12_000);
    const cancelled = await client.cancelDag(dagId);
    assert.equal(cancelled.dag.state, 'cancelled');
  });
});
