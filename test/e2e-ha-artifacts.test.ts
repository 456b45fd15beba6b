import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAndWait } from './harness.js';
import { HaCluster } from './ha-cluster.js';

/**
 * Artifact bytes live in PostgreSQL (docs/HA.md, "Artifacts' bytes"): a script uploaded to one
 * leader runs after that leader dies, planned and fetched through the next one.
 */
describe('artifacts across a failover', () => {
  const cluster = new HaCluster({ leaseTtl: '2s' });

  before(async () => {
    await cluster.open();
    for (const name of ['a', 'b', 'c']) await cluster.startMaster(name);
    await cluster.leader();
    await cluster.startWorker('before', 2);
  });
  after(() => cluster.close());

  test('a script run through the CLI on one leader runs again, unsent, as a DAG job on the next, on a worker that never fetched it', async () => {
    const script = join(cluster.sharedFolder('scripts'), 'greet.sh');
    writeFileSync(script, 'echo "hello from $1"\n');
    const first = await cluster.cli(['run', '--wait', script, 'the first leader']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^hello from the first leader$/m);

    const uploadedTo = await cluster.leader();
    await killAndWait(uploadedTo.process, 'SIGKILL');
    const next = await cluster.leader();
    assert.notEqual(next, uploadedTo);
    // A worker with an empty artifact cache: only the new leader can give it the script's bytes.
    await cluster.startWorker('after', 2, 'FRESH');

    const client = await cluster.client();
    const artifact = createHash('sha256').update('echo "hello from $1"\n').digest('hex');
    const { jobIds } = await client.submitDag('after-failover', [
      { key: 'greet', run: { kind: 'script', fileName: 'greet.sh', artifact }, args: ['the next leader'], requirement: ['FRESH'] },
    ]);
    const job = await client.wait(jobIds[0]!, 60_000);
    assert.equal(job.state, 'succeeded', job.reason ?? '');
    assert.equal(job.workerId, 'after');
    const output = (await client.logs(jobIds[0]!)).map((l) => l.line);
    assert.deepEqual(output, ['hello from the next leader']);
  });
});
