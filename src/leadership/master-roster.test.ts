import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { PostgresStore } from '../store/postgres/pg-store.js';
import { connectTestAdmin, TEST_PG_URL, TestSchemas } from '../store/postgres/pg-test-schema.js';
import { MasterRoster } from './master-roster.js';

const admin = await connectTestAdmin();
const schemas = new TestSchemas(admin);
after(async () => {
  await schemas.dropAll();
  await admin.end();
});

/** A migrated schema and a roster on it. */
async function roster(): Promise<{ schema: string; roster: MasterRoster }> {
  const schema = await schemas.create('roster');
  await (await PostgresStore.open(TEST_PG_URL, { schema })).close();
  return { schema, roster: new MasterRoster(TEST_PG_URL, { schema }) };
}

test('a master announcing again refreshes its one row: addresses, role and epoch as last written, seen just now', async () => {
  const { roster: r } = await roster();
  try {
    await r.announce({ name: 'a', tcp: 'h:1', http: null, role: 'standby', epoch: null });
    await r.announce({ name: 'b', tcp: 'h:3', http: 'h:4', role: 'standby', epoch: null });
    await r.announce({ name: 'a', tcp: 'h:1', http: 'h:2', role: 'leader', epoch: 2 });
    const rows = await r.read();
    assert.deepEqual(
      rows.map(({ seenMsAgo, ...row }) => (assert.ok(seenMsAgo < 5_000), row)).sort((x, y) => x.name.localeCompare(y.name)),
      [
        { name: 'a', tcp: 'h:1', http: 'h:2', role: 'leader', epoch: 2 },
        { name: 'b', tcp: 'h:3', http: 'h:4', role: 'standby', epoch: null },
      ],
    );
  } finally {
    await r.close();
  }
});

test("age is the database's clock; forget deletes only the rows older than asked", async () => {
  const { schema, roster: r } = await roster();
  try {
    await r.announce({ name: 'fresh', tcp: null, http: null, role: 'standby', epoch: null });
    await r.announce({ name: 'old', tcp: null, http: null, role: 'leader', epoch: 1 });
    await admin.query(`UPDATE ${schema}.masters SET seen_at = now() - interval '2 hours' WHERE name = 'old'`);
    const old = (await r.read()).find((row) => row.name === 'old');
    assert.ok(old !== undefined && old.seenMsAgo >= 2 * 3_600_000 && old.seenMsAgo < 2 * 3_600_000 + 60_000, `seen ${old?.seenMsAgo} ms ago`);
    assert.equal(await r.forget(3_600_000), 1);
    assert.deepEqual(
      (await r.read()).map((row) => row.name),
      ['fresh'],
    );
  } finally {
    await r.close();
  }
});
