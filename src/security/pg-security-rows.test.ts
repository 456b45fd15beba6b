import assert from 'node:assert/strict';
import { after, describe, test, type TestContext } from 'node:test';
import { ErrorCode, TitanError } from '../common/errors.js';
import { PostgresStore } from '../store/postgres/pg-store.js';
import { connectTestAdmin, TEST_PG_URL, TestSchemas } from '../store/postgres/pg-test-schema.js';
import { AuditLedger, openLedgerState } from './audit-ledger.js';
import { PgSecurityRows } from './pg-security-rows.js';
import { runSecurityRowsConformance } from './security-rows-conformance.js';
import type { LedgerRows } from './security-rows.js';
import { TokenStore } from './token-store.js';

// Not skipped when the server is down: the file fails, naming the command that starts it.
const admin = await connectTestAdmin();
const schemas = new TestSchemas(admin);
after(async () => {
  await schemas.dropAll();
  await admin.end();
});

async function openStore(t: TestContext, schema: string): Promise<PostgresStore> {
  const store = await PostgresStore.open(TEST_PG_URL, { schema, max: 2 });
  t.after(() => store.close());
  return store;
}

runSecurityRowsConformance('postgres', async (t) => {
  const schema = await schemas.create('sec');
  const store = await openStore(t, schema);
  return {
    rows: new PgSecurityRows(store),
    reopen: async () => new PgSecurityRows(await openStore(t, schema)),
    tamper: async (sql) => {
      await store.pool.query(sql);
    },
  };
});

const isFenced = (err: unknown): boolean => err instanceof TitanError && err.code === ErrorCode.FENCED;

void describe('security rows on postgres, fenced', () => {
  void test('after a newer epoch exists, a token create or revoke and a ledger append of the old epoch write nothing', async (t) => {
    const store = await openStore(t, await schemas.create('fence'));
    const rows = new PgSecurityRows(store);
    store.fence(0);
    const tokens = new TokenStore(rows.tokens, await rows.tokens.all());
    const ledger = new AuditLedger(rows.ledger, await openLedgerState(rows.ledger), Buffer.alloc(32, 7));
    const kept = tokens.create({ name: 'kept', role: 'viewer' }, 1);
    await kept.written;
    const entry = { at: 1, who: 'ci', role: 'operator', action: 'JOB_SUBMIT', target: 'a', source: '127.0.0.1', result: 'received' };
    await ledger.append(entry);
    const sealed = await rows.ledger.sealedHead();

    // Another master wins the lease, as leadership/pg-lease.ts does on a takeover.
    await store.pool.query("UPDATE leader_lease SET epoch = epoch + 1, holder = 'another-master' WHERE name = 'leader'");

    const created = tokens.create({ name: 'late', role: 'admin' }, 2);
    await assert.rejects(created.written!, isFenced);
    assert.equal(tokens.verify(created.token, 3), undefined, 'a token whose write failed never verifies');
    await assert.rejects(tokens.revoke('kept', 4).written!, isFenced);
    await assert.rejects(ledger.append({ ...entry, target: 'b' })!, isFenced);

    const stored = await rows.tokens.all();
    assert.deepEqual(
      stored.map((r) => [r.name, r.revoked_at]),
      [['kept', null]],
    );
    const { rows: audit } = await store.pool.query<{ target: string }>('SELECT target FROM audit_log ORDER BY seq');
    assert.deepEqual(
      audit.map((r) => r.target),
      ['a'],
    );
    assert.equal(await rows.ledger.sealedHead(), sealed, "the sealed head is the old leader's last committed one");
    assert.equal(ledger.head().seq, 1, 'the chain in memory stays at what committed');
    assert.equal((await ledger.verify()).ok, true);
  });

  void test('a batch that committed though its answer was lost: the next one chains on what is there', async (t) => {
    const store = await openStore(t, await schemas.create('lost'));
    const rows = new PgSecurityRows(store);
    let loseAnswer = true;
    const flaky: LedgerRows = {
      ...rows.ledger,
      append: async (batch, seal) => {
        await rows.ledger.append(batch, seal);
        if (loseAnswer) {
          loseAnswer = false;
          throw new Error('Connection terminated unexpectedly');
        }
      },
    };
    const ledger = new AuditLedger(flaky, await openLedgerState(flaky), Buffer.alloc(32, 7));
    const entry = (target: string) => ({ at: 1, who: 'ci', role: 'operator', action: 'JOB_SUBMIT', target, source: '127.0.0.1', result: 'ok' });
    await assert.rejects(ledger.append(entry('a'))!, /Connection terminated/);
    await ledger.append(entry('b'));
    const verdict = await ledger.verify();
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    assert.equal(verdict.rows, 2);
  });
});
