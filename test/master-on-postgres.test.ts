import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { silentLogger } from '../src/common/log.js';
import type { InferencePort } from '../src/master/inference-port.js';
import { Master } from '../src/master/master.js';
import { MASTER_DEFAULTS } from '../src/master/options.js';
import { TcpListener } from '../src/master/tcp-listener.js';
import { TitanClient } from '../src/sdk/client.js';
import { DEFAULT_RATE_LIMIT } from '../src/security/rate-limiter.js';
import { Security } from '../src/security/security.js';
import { PgArtifacts } from '../src/store/postgres/pg-artifacts.js';
import { PostgresStore } from '../src/store/postgres/pg-store.js';
import { connectTestAdmin, TEST_PG_URL, TestSchemas } from '../src/store/postgres/pg-test-schema.js';
import { SqliteStore } from '../src/store/sqlite-store.js';

const admin = await connectTestAdmin();
const schemas = new TestSchemas(admin);
after(async () => {
  await schemas.dropAll();
  await admin.end();
});

const TOKEN = 'master-on-postgres-token';

/** No inference routing: this master has no inference workers. */
const NO_INFERENCE: InferencePort = {
  publicKeyPem: '',
  agentHeartbeat: () => undefined,
  agentOutcome: () => undefined,
  handleClientMessage: () => false,
  workerGone: () => undefined,
};

interface Running {
  readonly master: Master;
  readonly client: TitanClient;
  stop(): Promise<void>;
}

/**
 * A master wired by hand with a PostgreSQL store as its only store, serving TCP on 127.0.0.1;
 * stopped after the test.
 */
async function startMaster(t: TestContext, schema: string, dataDir: string): Promise<Running> {
  const log = silentLogger();
  const store = await PostgresStore.open(TEST_PG_URL, { schema, max: 4 });
  // Tokens and the audit ledger still live in the data dir's SQLite file; nothing of the master does.
  const securityFile = SqliteStore.open(join(dataDir, 'titan.db'));
  const security = new Security({ dataDir, clusterToken: TOKEN, rateLimit: DEFAULT_RATE_LIMIT, namespaceQuotas: new Map() }, log);
  const options = { ...MASTER_DEFAULTS, host: '127.0.0.1', port: 0, dataDir, token: TOKEN };
  const artifacts = await PgArtifacts.open(store.blobs, join(dataDir, 'artifacts'));
  const master = new Master({ options, log, store, artifacts, security, token: TOKEN, inference: NO_INFERENCE });
  await master.recover();
  const tcp = new TcpListener(master, (socket, native) => native(socket), null);
  const port = await tcp.listen('127.0.0.1', 0);
  master.ready = true;
  const client = await TitanClient.connect({ host: '127.0.0.1', port, token: TOKEN });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    client.close();
    master.beginClose();
    await tcp.close();
    master.close();
    await master.drain();
    await security.close();
    securityFile.close();
    await store.close();
  };
  t.after(stop);
  return { master, client, stop };
}

void describe('a master on the PostgreSQL store alone', () => {
  void test('answers reads, KV and history from the database, and a restarted master recovers its jobs and numbering from it', async (t) => {
    const schema = await schemas.create('master');
    const dataDir = mkdtempSync(join(tmpdir(), 'titan-master-pg-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));

    const first = await startMaster(t, schema, dataDir);
    const { jobId: waiting } = await first.client.submit({ command: 'echo waits for a worker' });
    const { jobId: cancelled } = await first.client.submit({ command: 'echo is cancelled' });
    assert.equal((await first.client.cancel(cancelled)).state, 'cancelled');
    // Final, so no longer in the core's memory: read from the database.
    assert.equal((await first.client.status(cancelled)).state, 'cancelled');
    assert.deepEqual(
      (await first.client.history(cancelled)).events.map((e) => e.to),
      ['queued', 'cancelled'],
    );
    await first.client.kv.put('model', 'v1');
    assert.equal(await first.client.kv.get('model'), 'v1');
    assert.equal((await first.client.stats()).jobs.cancelled, 1);
    assert.ok((await first.master.storeBytes()).db > 0);
    await first.stop();

    const second = await startMaster(t, schema, dataDir);
    assert.equal((await second.client.status(waiting)).state, 'queued');
    assert.equal((await second.client.status(cancelled)).state, 'cancelled');
    assert.equal(await second.client.kv.get('model'), 'v1');
    const { jobId: later } = await second.client.submit({ command: 'echo after the restart' });
    const listed = await second.client.list({ limit: 10 });
    assert.deepEqual(
      listed.map((j) => j.id),
      [later, cancelled, waiting],
      'newest first: the new job is numbered after the ones the database held',
    );
  });
});
