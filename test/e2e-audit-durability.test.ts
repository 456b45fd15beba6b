import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TitanClient } from '../src/sdk/client.js';
import { Cluster, until } from './harness.js';

const cluster = new Cluster();
after(() => cluster.close());

test('a master killed with SIGKILL amid a stream of submits has a ledger row for every job it accepted', async () => {
  // Off: the stream would pass the default 150 requests per 10 s of one token.
  await cluster.startMaster(['--rate-limit', 'off']);
  const { token } = await (await cluster.client()).security.createToken({ name: 'streamer', role: 'operator' });
  const client = await TitanClient.connect({ host: '127.0.0.1', port: cluster.port, token });
  let acknowledged = 0;
  // Pipelined on one connection, so the master accepts many per turn of its event loop.
  const submits = Array.from({ length: 600 }, (_, i) =>
    client.submit({ id: `stream-${i}`, command: 'true' }).then(
      () => void acknowledged++,
      () => undefined,
    ),
  );
  await until('a third of the submits to be acknowledged', async () => acknowledged >= 200, 30_000);
  await cluster.killMaster();
  await Promise.all(submits);
  client.close();

  const db = new Database(join(cluster.dataDir, 'titan.db'));
  const jobs = db.prepare("SELECT id FROM jobs WHERE id LIKE 'stream-%'").pluck().all() as string[];
  const received = new Set(
    db.prepare("SELECT target FROM audit_log WHERE action = 'JOB_SUBMIT' AND who = 'streamer' AND result = 'received'").pluck().all() as string[],
  );
  db.close();
  assert.ok(jobs.length >= acknowledged, `every acknowledged submit is stored (${jobs.length} of ${acknowledged})`);
  const missing = jobs.filter((id) => !received.has(id));
  assert.deepEqual(missing, [], 'each stored job has the ledger row of its submit');

  await cluster.startMaster(['--rate-limit', 'off']);
  const verify = await cluster.cli(['audit', 'verify']);
  assert.equal(verify.code, 0, verify.stderr);
});
