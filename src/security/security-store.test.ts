import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../store/sqlite-store.js';
import { AuditLedger } from './audit-ledger.js';
import { TokenStore } from './token-store.js';

const dir = await mkdtemp(join(tmpdir(), 'titan-security-'));
after(() => rm(dir, { recursive: true, force: true }));
let files = 0;
/** A migrated store file and a second connection to it, as the master has. */
function freshDb(): { db: Database.Database; path: string } {
  const path = join(dir, `t-${++files}.db`);
  SqliteStore.open(path).close();
  return { db: new Database(path), path };
}
const KEY = Buffer.alloc(32, 7);
const entry = (n: number) => ({ at: 1000 + n, who: 'ci', role: 'operator', action: 'JOB_SUBMIT', target: `job-${n}`, source: '127.0.0.1', result: 'ok' });

void describe('TokenStore', () => {
  test('keeps only the sha256 of a token; the secret verifies, a changed one does not', () => {
    const { db } = freshDb();
    const tokens = new TokenStore(db);
    const { token, view } = tokens.create({ name: 'ci', role: 'viewer' }, 1);
    assert.match(token, /^titan_[a-f0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const stored = db.prepare('SELECT * FROM api_tokens').all() as Record<string, unknown>[];
    assert.equal(stored.length, 1);
    assert.ok(!JSON.stringify(stored).includes(token.slice(20)), 'the secret is not in the table');
    assert.equal(tokens.verify(token, 2)?.id, view.id);
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    assert.equal(tokens.verify(flipped, 2), undefined);
    assert.equal(tokens.verify('cluster-token', 2), undefined);
    db.close();
  });

  test('a token with a time to live verifies until then, not after, also after a reopen; then its name is free again', () => {
    const { db, path } = freshDb();
    const tokens = new TokenStore(db);
    const { token, view } = tokens.create({ name: 'temp', role: 'operator', ttlMs: 60_000 }, 1_000);
    assert.equal(view.expiresAt, 61_000);
    assert.equal(tokens.verify(token, 60_999)?.id, view.id);
    assert.equal(tokens.isLive(view.id, 60_999), true);
    assert.equal(tokens.verify(token, 61_000), undefined);
    assert.equal(tokens.isLive(view.id, 61_000), false);
    assert.equal(tokens.expired(token, 61_000)?.name, 'temp', 'an expired token is told apart from a wrong one');
    assert.equal(tokens.expired(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'), 61_000), undefined);
    db.close();
    const reopened = new TokenStore(new Database(path));
    assert.equal(reopened.verify(token, 61_000), undefined);
    assert.equal(reopened.verify(token, 2_000)?.id, view.id);
    assert.throws(() => reopened.create({ name: 'temp', role: 'viewer' }, 30_000), /already named temp/);
    const again = reopened.create({ name: 'temp', role: 'viewer' }, 70_000);
    assert.notEqual(again.view.id, view.id);
    assert.equal(reopened.list(true).find((t) => t.id === view.id)?.revokedAt, 61_000, 'the expired one is revoked as of its expiry');
    assert.throws(() => reopened.create({ name: 'bad-ttl', role: 'viewer', ttlMs: 0 }, 1), /time to live must be a positive/);
  });

  test('no token may take a name the ledger gives others (cluster, master, anonymous, legacy-v1)', () => {
    const { db } = freshDb();
    const tokens = new TokenStore(db);
    for (const name of ['cluster', 'Master', 'anonymous', 'legacy-v1']) assert.throws(() => tokens.create({ name, role: 'admin' }, 1), /is reserved/, name);
    assert.equal(tokens.create({ name: 'cluster-ops', role: 'admin' }, 1).view.name, 'cluster-ops');
    db.close();
  });

  test('tokens survive a reopen; revoked ones stop verifying at once and after a reopen', () => {
    const { db, path } = freshDb();
    const tokens = new TokenStore(db);
    const a = tokens.create({ name: 'a', role: 'admin' }, 1);
    const b = tokens.create({ name: 'b', role: 'operator', namespace: 'team-a' }, 2);
    tokens.revoke('a', 5);
    assert.equal(tokens.verify(a.token, 6), undefined);
    db.close();
    const again = new TokenStore(new Database(path));
    assert.equal(again.verify(a.token, 7), undefined);
    assert.equal(again.verify(b.token, 7)?.namespace, 'team-a');
    assert.deepEqual(
      again.list(false).map((t) => t.name),
      ['b'],
    );
    assert.deepEqual(
      again.list(true).map((t) => [t.name, t.revokedAt]),
      [
        ['a', 5],
        ['b', null],
      ],
    );
  });

  test('refuses bad names, roles, namespaces and a second live token of one name', () => {
    const { db } = freshDb();
    const tokens = new TokenStore(db);
    assert.throws(() => tokens.create({ name: '../x', role: 'viewer' }, 1), /token name/);
    assert.throws(() => tokens.create({ name: 'x', role: 'root' }, 1), /role "root" is not one of admin, operator, viewer/);
    assert.throws(() => tokens.create({ name: 'x', role: 'viewer', namespace: 'a.b' }, 1), /no dots/);
    tokens.create({ name: 'x', role: 'viewer' }, 1);
    assert.throws(() => tokens.create({ name: 'x', role: 'viewer' }, 1), /already named x/);
    tokens.revoke('x', 2);
    tokens.create({ name: 'x', role: 'viewer' }, 3);
    assert.throws(() => tokens.revoke('nobody', 4), /titan token ls/);
    db.close();
  });
});

void describe('AuditLedger', () => {
  test('an untouched chain verifies, across reopens', () => {
    const { db, path } = freshDb();
    const ledger = new AuditLedger(db, KEY);
    for (let i = 0; i < 5; i++) ledger.append(entry(i));
    db.close();
    const reopened = new AuditLedger(new Database(path), KEY);
    reopened.append(entry(5));
    const verdict = reopened.verify();
    assert.equal(verdict.ok, true);
    assert.equal(verdict.rows, 6);
    assert.deepEqual(
      reopened.recent(2).map((r) => r.target),
      ['job-5', 'job-4'],
    );
  });

  const tamper: Array<[string, string, RegExp]> = [
    ['an edited field', "UPDATE audit_log SET who = 'mallory' WHERE seq = 3", /row 3 was edited/],
    ['an edited field with its hash recomputed without the key', "UPDATE audit_log SET result = 'denied', hash = '00' WHERE seq = 2", /row 2 was edited/],
    ['a deleted middle row', 'DELETE FROM audit_log WHERE seq = 2', /rows 2\.\.2 are missing/],
    ['a deleted last row', 'DELETE FROM audit_log WHERE seq = 5', /sealed head does not match row 4/],
    ['every row deleted', 'DELETE FROM audit_log', /all were deleted/],
  ];
  for (const [what, sql, problem] of tamper) {
    test(`verify detects ${what}`, () => {
      const { db, path } = freshDb();
      const ledger = new AuditLedger(db, KEY);
      for (let i = 0; i < 5; i++) ledger.append(entry(i));
      const raw = new Database(path);
      raw.exec(sql);
      raw.close();
      const verdict = ledger.verify();
      assert.equal(verdict.ok, false, what);
      assert.match(verdict.ok ? '' : verdict.problem, problem);
      db.close();
    });
  }

  test('a chain rebuilt with another key does not verify', () => {
    const { db } = freshDb();
    new AuditLedger(db, Buffer.alloc(32, 1)).append(entry(0));
    assert.equal(new AuditLedger(db, KEY).verify().ok, false);
    db.close();
  });
});

void test('fields with NUL, control characters or lone surrogates are stored escaped, so the chain still verifies', async () => {
  const path = join(dir, `t-${++files}.db`);
  SqliteStore.open(path).close();
  const db = new Database(path);
  const ledger = new AuditLedger(db, KEY);
  ledger.append({ ...entry(0), target: 'a\u0000b\n\ud800c', who: 'x'.repeat(5000) });
  const verdict = ledger.verify();
  assert.equal(verdict.ok, true, JSON.stringify(verdict));
  assert.equal(ledger.recent(1)[0]?.target, 'a\\u0000b\\u000a\\ud800c');
  db.close();
});
