import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import { AuditLedger, openLedgerState } from './audit-ledger.js';
import type { SecurityRows } from './security-rows.js';
import { TokenStore } from './token-store.js';

/** Security's rows on one new, empty store, as a test gets them. */
export interface SecurityRowsPlace {
  readonly rows: SecurityRows;
  /** The same rows again, as a restarted master opens them (the earlier ones are let go). */
  reopen(): Promise<SecurityRows>;
  /** Runs SQL that both dialects read alike behind the ledger's back, as someone with the database would. */
  tamper(sql: string): Promise<void>;
}

const KEY = Buffer.alloc(32, 7);
const entry = (n: number) => ({ at: 1000 + n, who: 'ci', role: 'operator', action: 'JOB_SUBMIT', target: `job-${n}`, source: '127.0.0.1', result: 'ok' });

async function tokensOn(rows: SecurityRows): Promise<TokenStore> {
  return new TokenStore(rows.tokens, await rows.tokens.all());
}

async function ledgerOn(rows: SecurityRows, key = KEY): Promise<AuditLedger> {
  return new AuditLedger(rows.ledger, await openLedgerState(rows.ledger), key);
}

/** Creates and waits for the write, as the reply that hands out the secret does. */
async function create(tokens: TokenStore, input: Parameters<TokenStore['create']>[0], now: number): Promise<ReturnType<TokenStore['create']>> {
  const created = tokens.create(input, now);
  await created.written;
  return created;
}

async function appendAll(ledger: AuditLedger, count: number, from = 0): Promise<void> {
  for (let i = from; i < from + count; i++) await ledger.append(entry(i));
}

/**
 * What the token store and the audit ledger must do on any store: SQLite answers at once,
 * PostgreSQL through promises, and the behaviour is the same.
 */
export function runSecurityRowsConformance(name: string, place: (t: TestContext) => Promise<SecurityRowsPlace>): void {
  void describe(`tokens on ${name}`, () => {
    void test('keeps only the sha256 of a token; the secret verifies, a changed one does not', async (t) => {
      const { rows } = await place(t);
      const tokens = await tokensOn(rows);
      const { token, view } = await create(tokens, { name: 'ci', role: 'viewer' }, 1);
      assert.match(token, /^titan_[a-f0-9]{12}_[A-Za-z0-9_-]{43}$/);
      const stored = await rows.tokens.all();
      assert.equal(stored.length, 1);
      assert.ok(!JSON.stringify(stored).includes(token.slice(20)), 'the secret is not in the table');
      assert.equal(stored[0]?.hash, createHash('sha256').update(token).digest('hex'));
      assert.equal(tokens.verify(token, 2)?.id, view.id);
      const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
      assert.equal(tokens.verify(flipped, 2), undefined);
      assert.equal(tokens.verify('cluster-token', 2), undefined);
    });

    void test('a token with a time to live verifies until then, not after, also after a reopen; then its name is free again', async (t) => {
      const where = await place(t);
      const tokens = await tokensOn(where.rows);
      const { token, view } = await create(tokens, { name: 'temp', role: 'operator', ttlMs: 60_000 }, 1_000);
      assert.equal(view.expiresAt, 61_000);
      assert.equal(tokens.verify(token, 60_999)?.id, view.id);
      assert.equal(tokens.isLive(view.id, 60_999), true);
      assert.equal(tokens.verify(token, 61_000), undefined);
      assert.equal(tokens.isLive(view.id, 61_000), false);
      assert.equal(tokens.expired(token, 61_000)?.name, 'temp', 'an expired token is told apart from a wrong one');
      assert.equal(tokens.expired(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'), 61_000), undefined);
      const reopened = await tokensOn(await where.reopen());
      assert.equal(reopened.verify(token, 61_000), undefined);
      assert.equal(reopened.verify(token, 2_000)?.id, view.id);
      assert.throws(() => reopened.create({ name: 'temp', role: 'viewer' }, 30_000), /already named temp/);
      const again = await create(reopened, { name: 'temp', role: 'viewer' }, 70_000);
      assert.notEqual(again.view.id, view.id);
      assert.equal(reopened.list(true).find((v) => v.id === view.id)?.revokedAt, 61_000, 'the expired one is revoked as of its expiry');
      const stored = await (await where.reopen()).tokens.all();
      assert.equal(stored.find((r) => r.id === view.id)?.revoked_at, 61_000, 'and so it is stored');
      assert.throws(() => reopened.create({ name: 'bad-ttl', role: 'viewer', ttlMs: 0 }, 1), /time to live must be a positive/);
    });

    void test('no token may take a name the ledger gives others (cluster, master, anonymous, legacy-v1)', async (t) => {
      const tokens = await tokensOn((await place(t)).rows);
      for (const n of ['cluster', 'Master', 'anonymous', 'legacy-v1']) assert.throws(() => tokens.create({ name: n, role: 'admin' }, 1), /is reserved/, n);
      assert.equal((await create(tokens, { name: 'cluster-ops', role: 'admin' }, 1)).view.name, 'cluster-ops');
    });

    void test('tokens survive a reopen; revoked ones stop verifying at once and after a reopen', async (t) => {
      const where = await place(t);
      const tokens = await tokensOn(where.rows);
      const a = await create(tokens, { name: 'a', role: 'admin' }, 1);
      const b = await create(tokens, { name: 'b', role: 'operator', namespace: 'team-a' }, 2);
      const revoked = tokens.revoke('a', 5);
      assert.equal(tokens.verify(a.token, 6), undefined, 'at once, before the write commits');
      await revoked.written;
      const again = await tokensOn(await where.reopen());
      assert.equal(again.verify(a.token, 7), undefined);
      assert.equal(again.verify(b.token, 7)?.namespace, 'team-a');
      assert.deepEqual(
        again.list(false).map((v) => v.name),
        ['b'],
      );
      assert.deepEqual(
        again.list(true).map((v) => [v.name, v.revokedAt]),
        [
          ['a', 5],
          ['b', null],
        ],
      );
    });

    void test('refuses bad names, roles, namespaces and a second live token of one name', async (t) => {
      const tokens = await tokensOn((await place(t)).rows);
      assert.throws(() => tokens.create({ name: '../x', role: 'viewer' }, 1), /token name/);
      assert.throws(() => tokens.create({ name: 'x', role: 'root' }, 1), /role "root" is not one of admin, operator, viewer/);
      assert.throws(() => tokens.create({ name: 'x', role: 'viewer', namespace: 'a.b' }, 1), /no dots/);
      await create(tokens, { name: 'x', role: 'viewer' }, 1);
      assert.throws(() => tokens.create({ name: 'x', role: 'viewer' }, 1), /already named x/);
      await tokens.revoke('x', 2).written;
      await create(tokens, { name: 'x', role: 'viewer' }, 3);
      assert.throws(() => tokens.revoke('nobody', 4), /titan token ls/);
    });

    void test("a token's last use is stored, at most once a minute", async (t) => {
      const where = await place(t);
      const tokens = await tokensOn(where.rows);
      const { token, view } = await create(tokens, { name: 'ci', role: 'viewer' }, 1);
      tokens.verify(token, 1_000);
      tokens.verify(token, 30_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal((await tokensOn(await where.reopen())).list(false).find((v) => v.id === view.id)?.lastUsedAt, 1_000);
    });
  });

  void describe(`audit ledger on ${name}`, () => {
    void test('an untouched chain verifies, across reopens', async (t) => {
      const where = await place(t);
      await appendAll(await ledgerOn(where.rows), 5);
      const reopened = await ledgerOn(await where.reopen());
      assert.equal(reopened.checkSealAtStart(true), null);
      await reopened.append(entry(5));
      const verdict = await reopened.verify();
      assert.equal(verdict.ok, true);
      assert.equal(verdict.rows, 6);
      assert.deepEqual(
        (await reopened.recent(2)).map((r) => r.target),
        ['job-5', 'job-4'],
      );
      assert.deepEqual({ seq: reopened.head().seq, rows: reopened.head().rows }, { seq: 6, rows: 6 });
    });

    void test('rows queued in one turn are written together, and reads see them', async (t) => {
      const ledger = await ledgerOn((await place(t)).rows);
      for (let i = 0; i < 50; i++) ledger.enqueue(entry(i));
      const records = await ledger.recent(100);
      assert.equal(records.length, 50);
      assert.equal(records[0]?.seq, 50);
      assert.equal((await ledger.verify()).ok, true);
    });

    const tamper: Array<[string, string, RegExp]> = [
      ['an edited field', "UPDATE audit_log SET who = 'mallory' WHERE seq = 3", /row 3 was edited/],
      ['an edited field with its hash recomputed without the key', "UPDATE audit_log SET result = 'denied', hash = '00' WHERE seq = 2", /row 2 was edited/],
      ['a deleted middle row', 'DELETE FROM audit_log WHERE seq = 2', /rows 2\.\.2 are missing/],
      ['a deleted last row', 'DELETE FROM audit_log WHERE seq = 5', /sealed head does not match row 4/],
      ['every row deleted', 'DELETE FROM audit_log', /all were deleted/],
    ];
    for (const [what, sql, problem] of tamper) {
      void test(`verify detects ${what}`, async (t) => {
        const where = await place(t);
        const ledger = await ledgerOn(where.rows);
        await appendAll(ledger, 5);
        await where.tamper(sql);
        const verdict = await ledger.verify();
        assert.equal(verdict.ok, false, what);
        assert.match(verdict.ok ? '' : verdict.problem, problem);
      });
    }

    void test('a tail cut or every row deleted while stopped is found at the next open, before anything is written', async (t) => {
      const cut = await place(t);
      await appendAll(await ledgerOn(cut.rows), 5);
      await cut.tamper('DELETE FROM audit_log WHERE seq > 3');
      assert.match((await ledgerOn(await cut.reopen())).checkSealAtStart(true) ?? '', /does not match its last row \(3\)/);

      const wiped = await place(t);
      await appendAll(await ledgerOn(wiped.rows), 2);
      await wiped.tamper('DELETE FROM audit_log');
      assert.match((await ledgerOn(await wiped.reopen())).checkSealAtStart(true) ?? '', /every row of the audit ledger was deleted/);
      await wiped.tamper("DELETE FROM meta WHERE key = 'audit.head'");
      const emptied = await ledgerOn(await wiped.reopen());
      assert.match(emptied.checkSealAtStart(true) ?? '', /empty but its key is older than this start/);
      assert.equal(emptied.checkSealAtStart(false), null, 'a new ledger with a new key is simply empty');
    });

    void test('a chain rebuilt with another key does not verify', async (t) => {
      const where = await place(t);
      await (await ledgerOn(where.rows, Buffer.alloc(32, 1))).append(entry(0));
      assert.equal((await (await ledgerOn(await where.reopen())).verify()).ok, false);
    });

    void test('fields with NUL, control characters or lone surrogates are stored escaped, so the chain still verifies', async (t) => {
      const ledger = await ledgerOn((await place(t)).rows);
      await ledger.append({ ...entry(0), target: 'a\u0000b\n\ud800c', who: 'x'.repeat(5000) });
      const verdict = await ledger.verify();
      assert.equal(verdict.ok, true, JSON.stringify(verdict));
      assert.equal((await ledger.recent(1))[0]?.target, 'a\\u0000b\\u000a\\ud800c');
    });
  });
}
