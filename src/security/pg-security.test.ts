import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { ErrorCode } from '../common/errors.js';
import { silentLogger } from '../common/log.js';
import type { Replier } from '../protocol/replier.js';
import { PostgresStore } from '../store/postgres/pg-store.js';
import { connectTestAdmin, TEST_PG_URL, TestSchemas } from '../store/postgres/pg-test-schema.js';
import { copySqliteToPostgres } from '../store/postgres/sqlite-to-pg.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { auditedReply } from './audited-reply.js';
import { PgSecurityRows } from './pg-security-rows.js';
import { CLUSTER_IDENTITY, Security, type SecurityOptions } from './security.js';

const admin = await connectTestAdmin();
const schemas = new TestSchemas(admin);
const root = await mkdtemp(join(tmpdir(), 'titan-pg-security-'));
after(async () => {
  await schemas.dropAll();
  await admin.end();
  await rm(root, { recursive: true, force: true });
});

let dirs = 0;
async function dataDir(): Promise<string> {
  const dir = join(root, `d-${++dirs}`);
  SqliteStore.open(join(dir, 'titan.db')).close();
  return dir;
}
const optionsFor = (dir: string): SecurityOptions => ({ dataDir: dir, clusterToken: 'cluster-secret', rateLimit: null, namespaceQuotas: new Map() });

async function onPostgres(t: TestContext, dir: string, schema: string, fence?: number): Promise<{ security: Security; store: PostgresStore }> {
  const store = await PostgresStore.open(TEST_PG_URL, { schema, max: 2 });
  if (fence !== undefined) store.fence(fence);
  const security = await Security.open(optionsFor(dir), silentLogger(), new PgSecurityRows(store));
  t.after(async () => {
    await security.close();
    await store.close();
  });
  return { security, store };
}

/** A replier that keeps the first answer. */
function answerKept(): { reply: Replier; answer: Promise<{ code: ErrorCode | 'ok'; message?: string }>; answered: () => boolean } {
  let settle!: (a: { code: ErrorCode | 'ok'; message?: string }) => void;
  let answered = false;
  const answer = new Promise<{ code: ErrorCode | 'ok'; message?: string }>((resolve) => (settle = resolve));
  const keep = (a: { code: ErrorCode | 'ok'; message?: string }): void => {
    answered = true;
    settle(a);
  };
  const reply: Replier = {
    expectsReply: true,
    signal: new AbortController().signal,
    ok: () => keep({ code: 'ok' }),
    error: (code, message) => keep({ code, message }),
    chunk: () => true,
    whenWritable: (cb) => cb(),
    end: () => keep({ code: 'ok' }),
  };
  return { reply, answer, answered: () => answered };
}

/** A TOKEN_CREATE as the master's session serves it: `received` row, the create, the audited answer. */
function createAudited(security: Security, name: string): { token: string; answer: ReturnType<typeof answerKept> } {
  const kept = answerKept();
  security.receive(CLUSTER_IDENTITY, 'TOKEN_CREATE', '', '127.0.0.1:1');
  const out = auditedReply(kept.reply, '', (target, result) => security.record(CLUSTER_IDENTITY, 'TOKEN_CREATE', target, '127.0.0.1:1', result));
  const { token, view } = security.createToken({ name, role: 'viewer' });
  out.ok({ token, info: view });
  return { token, answer: kept };
}

void describe('security on postgres', () => {
  void test('a SQLite data dir moved by `titan store migrate` opens on PostgreSQL: its tokens verify, its ledger is intact and goes on', async (t) => {
    const dir = await dataDir();
    const sqlite = new Security(optionsFor(dir), silentLogger());
    const ci = sqlite.createToken({ name: 'ci', role: 'operator', namespace: 'team-a' });
    const old = sqlite.createToken({ name: 'old', role: 'viewer' });
    sqlite.revokeToken('old');
    sqlite.receive(CLUSTER_IDENTITY, 'JOB_SUBMIT', 'team-a.1', '127.0.0.1:1');
    sqlite.record(CLUSTER_IDENTITY, 'JOB_SUBMIT', 'team-a.1', '127.0.0.1:1', 'ok');
    sqlite.recordSystem('MASTER_STOP', 'ok');
    const before = await sqlite.audit.verify();
    await sqlite.close();
    assert.equal(before.ok, true);

    const schema = await schemas.create('moved');
    const report = await copySqliteToPostgres(dir, TEST_PG_URL, { schema });
    assert.equal(report.api_tokens, 2);
    assert.equal(report.audit_log, before.rows);

    const { security } = await onPostgres(t, dir, schema, 0);
    assert.deepEqual(security.identify(ci.token), {
      kind: 'token',
      name: 'ci',
      tokenId: ci.view.id,
      role: 'operator',
      namespace: 'team-a',
      mayActAsWorker: false,
    });
    assert.equal(security.identify(old.token), undefined, 'a revoked token stays revoked');
    assert.deepEqual(
      security.tokens.list(true).map((v) => v.name),
      ['ci', 'old'],
    );
    assert.deepEqual(await security.audit.verify(), before, 'the chain and its sealed head came across intact');

    const { answer } = createAudited(security, 'after-move');
    assert.equal((await answer.answer).code, 'ok');
    const after = await security.audit.verify();
    assert.equal(after.ok, true, JSON.stringify(after));
    assert.equal(after.rows, before.rows + 2, 'the new rows chain on the copied ones');
    assert.ok(!(await security.audit.recent(10)).some((r) => r.action === 'AUDIT_TAMPERED'));
  });

  void test("a change's answer waits for its ledger row and token to commit; a deposed master's is E_FENCED and stores nothing", async (t) => {
    const dir = await dataDir();
    const { security, store } = await onPostgres(t, dir, await schemas.create('fenced'), 0);
    const first = createAudited(security, 'ci');
    assert.equal(first.answer.answered(), false, 'not answered before the commits');
    assert.equal((await first.answer.answer).code, 'ok');
    assert.equal(security.identify(first.token)?.name, 'ci');
    const stored = async (): Promise<string[]> =>
      (await store.pool.query<{ name: string }>('SELECT name FROM api_tokens ORDER BY name')).rows.map((r) => r.name);
    assert.deepEqual(await stored(), ['ci']);

    await store.pool.query("UPDATE leader_lease SET epoch = epoch + 1, holder = 'another-master' WHERE name = 'leader'");
    const rowsBefore = (await security.audit.verify()).rows;
    const late = createAudited(security, 'late');
    const answer = await late.answer.answer;
    assert.equal(answer.code, ErrorCode.FENCED, JSON.stringify(answer));
    assert.equal(security.identify(late.token), undefined);
    assert.deepEqual(await stored(), ['ci']);
    const verdict = await security.audit.verify();
    assert.equal(verdict.ok, true);
    assert.equal(verdict.rows, rowsBefore, "none of the deposed master's rows landed");
  });
});
