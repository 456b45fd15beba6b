import assert from 'node:assert/strict';
import { after, describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import { pgClientConfig } from '../store/postgres/pg-pool.js';
import { PostgresStore } from '../store/postgres/pg-store.js';
import { connectTestAdmin, TEST_PG_URL, TestSchemas } from '../store/postgres/pg-test-schema.js';
import { contendForLease, readLease } from './pg-lease.js';

const admin = await connectTestAdmin();
const schemas = new TestSchemas(admin);
after(async () => {
  await schemas.dropAll();
  await admin.end();
});

/** A lease far longer than any test: whatever is taken here is taken before it could expire. */
const HOUR_MS = 3_600_000;

async function leaseSchema(): Promise<string> {
  const schema = await schemas.create('lease_rule');
  const store = await PostgresStore.open(TEST_PG_URL, { schema, max: 1 }); // applies the migrations
  await store.close();
  return schema;
}

async function session(t: TestContext, schema: string): Promise<pg.Client> {
  const client = new pg.Client(pgClientConfig(TEST_PG_URL, { schema }));
  await client.connect();
  t.after(() => client.end().catch(() => undefined));
  return client;
}

/** Ends `client` as a SIGKILL of its process would, and waits until the server has ended its session (it takes a moment). */
async function die(client: pg.Client): Promise<void> {
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  await client.end();
  for (let tries = 0; tries < 500; tries++) {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
    if (rowCount === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`the server kept session ${pid} for 10 s after its client left`);
}

void describe('taking the lease', () => {
  void test("is refused while the holder's lease is live and its session is open", async (t) => {
    const schema = await leaseSchema();
    const holder = await session(t, schema);
    const standby = await session(t, schema);
    assert.equal((await contendForLease(holder, 'holder', HOUR_MS)).epoch, 1);
    const refused = await contendForLease(standby, 'standby', HOUR_MS);
    assert.equal(refused.epoch, null);
    assert.deepEqual(refused.current, { holder: 'holder', epoch: 1, live: true }, 'the standby learns who leads');
  });

  void test('succeeds at once, with the next epoch, when the holder died: its session ended without releasing the lease', async (t) => {
    const schema = await leaseSchema();
    const holder = await session(t, schema);
    const standby = await session(t, schema);
    assert.equal((await contendForLease(holder, 'holder', HOUR_MS)).epoch, 1);
    await die(holder);
    assert.deepEqual(await readLease(standby), { holder: 'holder', epoch: 1, live: true }, 'the dead holder’s lease has not run out');
    const taken = await contendForLease(standby, 'standby', HOUR_MS);
    assert.equal(taken.epoch, 2);
    assert.deepEqual(await readLease(standby), { holder: 'standby', epoch: 2, live: true });
  });

  void test('records the new holder’s own session, so the rule protects it in turn', async (t) => {
    const schema = await leaseSchema();
    const first = await session(t, schema);
    const second = await session(t, schema);
    const third = await session(t, schema);
    await contendForLease(first, 'first', HOUR_MS);
    await die(first);
    assert.equal((await contendForLease(second, 'second', HOUR_MS)).epoch, 2);
    assert.equal((await contendForLease(third, 'third', HOUR_MS)).epoch, null, 'the second holder is alive');
  });
});
