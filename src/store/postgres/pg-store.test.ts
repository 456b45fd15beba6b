import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { runArtifactConformance } from '../artifact-conformance.js';
import { runKvConformance } from '../kv-conformance.js';
import { runLogConformance } from '../log-conformance.js';
import { runPruneConformance } from '../prune-conformance.js';
import { runScheduleConformance } from '../schedule-conformance.js';
import { runStoreConformance } from '../store-conformance.js';
import { runAdmissionConformance } from '../admission-conformance.js';
import { PG_MIGRATIONS } from './pg-migrations.js';
import { PostgresStore } from './pg-store.js';
import { connectTestAdmin, PG_START_COMMAND, TEST_PG_URL, TestSchemas } from './pg-test-schema.js';

// Not skipped when the server is down: the file fails, naming the command that starts it.
const admin = await connectTestAdmin();
const schemas = new TestSchemas(admin);
after(async () => {
  await schemas.dropAll();
  await admin.end();
});

const open = async (): Promise<PostgresStore> => PostgresStore.open(TEST_PG_URL, { schema: await schemas.create('store'), max: 2 });
const reopen = (closed: PostgresStore): Promise<PostgresStore> => PostgresStore.open(closed.url, closed.options);
/** Another master winning the lease: the epoch moves up, as leadership/pg-lease.ts does on a takeover. */
const depose = async (store: PostgresStore): Promise<void> => {
  await store.pool.query("UPDATE leader_lease SET epoch = epoch + 1, holder = 'another-master' WHERE name = 'leader'");
};

runStoreConformance('postgres', open, reopen, depose);
runKvConformance('postgres', open, reopen);
runLogConformance('postgres', open, reopen);
runScheduleConformance('postgres', open, reopen);
runPruneConformance('postgres', open);
runArtifactConformance('postgres', open);
runAdmissionConformance('postgres', open, reopen);

void describe('postgres store schema', () => {
  void test('migrations are recorded once each, in order, and a second open applies none again', async (t) => {
    const store = await open();
    t.after(() => store.close());
    const again = await reopen(store);
    t.after(() => again.close());
    const { rows } = await again.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      rows.map((r) => r.version),
      PG_MIGRATIONS.map((m) => m.version),
    );
  });

  void test('masters opening one empty schema at once apply each migration exactly once', async (t) => {
    const schema = await schemas.create('race');
    const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(TEST_PG_URL, { schema, max: 1 })));
    t.after(() => Promise.all(stores.map((s) => s.close())));
    const { rows } = await stores[0]!.pool.query<{ n: number }>('SELECT COUNT(*) AS n FROM schema_migrations');
    assert.equal(rows[0]?.n, PG_MIGRATIONS.length);
  });

  void test('a schema written by a newer Titan is refused, naming the versions', async () => {
    const schema = await schemas.create('newer');
    const first = await PostgresStore.open(TEST_PG_URL, { schema, max: 1 });
    await first.pool.query("INSERT INTO schema_migrations (version, description) VALUES (999, 'from the future')");
    await first.close();
    await assert.rejects(PostgresStore.open(TEST_PG_URL, { schema, max: 1 }), /newer version of Titan \(schema version 999; this version knows up to \d+\)/);
  });

  void test('artifact bytes are stored once per hash and read back by any store on the database', async (t) => {
    const a = await open();
    t.after(() => a.close());
    const b = await PostgresStore.open(TEST_PG_URL, a.options);
    t.after(() => b.close());
    const bytes = Buffer.from('print("hello from master a")\n');
    const hash = await a.blobs.put(bytes);
    assert.equal(await a.blobs.put(bytes), hash);
    assert.equal(await b.blobs.has(hash), true);
    assert.deepEqual(await b.blobs.get(hash), bytes);
    assert.equal(await b.blobs.has('0'.repeat(64)), false);
    await assert.rejects(b.blobs.get('0'.repeat(64)), /no artifact 0{64}/);
  });

  void test('an unreachable server fails with the command that starts it', async () => {
    await assert.rejects(connectTestAdmin('postgres://postgres@127.0.0.1:1/test'), (err: Error) => {
      assert.ok(err.message.includes(PG_START_COMMAND), err.message);
      return true;
    });
  });
});
