import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { ErrorCode, TitanError } from '../common/errors.js';
import { inTransaction, pgClientConfig } from '../store/postgres/pg-pool.js';
import { PostgresStore } from '../store/postgres/pg-store.js';
import { connectTestAdmin, TEST_PG_URL, TestSchemas } from '../store/postgres/pg-test-schema.js';
import { tryAcquireLease } from './pg-lease.js';

const admin = await connectTestAdmin();
const schemas = new TestSchemas(admin);
after(async () => {
  await schemas.dropAll();
  await admin.end();
});

void test("a takeover waits for the old epoch's write in flight, and once the new epoch exists the old leader's writes are refused", async (t) => {
  const schema = await schemas.create('fence');
  const old = await PostgresStore.open(TEST_PG_URL, { schema, max: 2 });
  t.after(() => old.close());
  const oldLease = new pg.Client(pgClientConfig(TEST_PG_URL, { schema }));
  const newLease = new pg.Client(pgClientConfig(TEST_PG_URL, { schema, applicationName: `contender-${schema}` }));
  await oldLease.connect();
  await newLease.connect();
  t.after(async () => {
    await oldLease.end();
    await newLease.end();
  });

  const oldEpoch = await tryAcquireLease(oldLease, 'old', 60_000);
  assert.equal(oldEpoch, 1);
  old.fence(oldEpoch!);

  // The old leader's write has passed its epoch check and is still open when its lease runs out.
  let finishWrite!: () => void;
  const writing = new Promise<void>((resolve) => (finishWrite = resolve));
  const inFlight = inTransaction(old.pool, oldEpoch, async (client) => {
    await client.query("INSERT INTO meta (key, value) VALUES ('in-flight', 'old epoch')");
    await writing;
  });
  await admin.query(`UPDATE ${schema}.leader_lease SET expires_at = now()`);

  const takeover = tryAcquireLease(newLease, 'new', 60_000);
  try {
    const until = Date.now() + 20_000;
    for (;;) {
      const { rows } = await admin.query('SELECT wait_event_type FROM pg_stat_activity WHERE application_name = $1', [`contender-${schema}`]);
      if (rows[0]?.wait_event_type === 'Lock') break;
      assert.ok(Date.now() < until, 'the takeover should be waiting for the lease row lock');
      await sleep(20);
    }
  } finally {
    finishWrite();
  }
  await inFlight; // begun under epoch 1 before epoch 2 existed: it lands
  assert.equal(await takeover, 2);
  assert.equal(await old.getMeta('in-flight'), 'old epoch');
  await assert.rejects(old.setMeta('after', 'takeover'), (err: unknown) => err instanceof TitanError && err.code === ErrorCode.FENCED);
  assert.equal(await old.getMeta('after'), undefined);
});
