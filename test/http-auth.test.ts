import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../src/common/log.js';
import { composeMaster } from '../src/cli/master-process.js';
import { MASTER_DEFAULTS } from '../src/master/options.js';

/**
 * The HTTP onRequest hook against a real Master (store, tokens, ledger), driven with fastify's
 * inject: a route declaring its permission in `config`, body caps, and the order of the checks.
 */
describe('HTTP auth hook', () => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-http-auth-'));
  const master = composeMaster(
    { ...MASTER_DEFAULTS, host: '127.0.0.1', port: 0, dataDir: dir, token: 'cluster-token-for-http-test', http: { host: '127.0.0.1', port: 0 } },
    silentLogger(),
  );
  const api = master.http!;
  const tokens: Record<string, string> = {};
  let parsedBodies = 0;

  before(async () => {
    // Counts bodies fastify starts to read: preParsing runs only after onRequest let the request through.
    api.app.addHook('preParsing', (_request, _reply, payload, done) => {
      parsedBodies++;
      done(null, payload);
    });
    api.app.post('/api/v1/echo', { config: { permission: { action: 'submit', scope: 'none' } } }, (request) => {
      return { got: (request.body as { n?: number }).n ?? null, by: request.identity?.name ?? null };
    });
    await api.app.ready();
    tokens.viewer = master.security.createToken({ name: 'v', role: 'viewer' }).token;
    tokens.operator = master.security.createToken({ name: 'o', role: 'operator' }).token;
  });
  after(async () => {
    await api.close();
    await master.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (token: string | undefined, payload: string) =>
    api.app.inject({
      method: 'POST',
      url: '/api/v1/echo',
      payload,
      headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    });

  test('a route that declares its permission in config gets it: operator in, viewer refused with the role named', async () => {
    const ok = await post(tokens.operator, '{"n":1}');
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { got: 1, by: 'o' });
    const denied = await post(tokens.viewer, '{"n":2}');
    assert.equal(denied.statusCode, 403);
    assert.match((denied.json() as { error: string }).error, /role viewer may not submit/);
  });

  test('a body over 16 MiB is refused with 413 and the master keeps answering', async () => {
    const big = `{"n":1,"pad":"${'x'.repeat(17 * 1024 * 1024)}"}`;
    const res = await post(tokens.operator, big);
    assert.equal(res.statusCode, 413);
    assert.equal((await post(tokens.operator, '{"n":3}')).statusCode, 200);
  });

  test('without a token (or with a refused role) nothing is parsed: 401/403 before the body is read, even a huge one', async () => {
    const before = parsedBodies;
    const res = await post(undefined, `{"pad":"${'x'.repeat(17 * 1024 * 1024)}"}`);
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer');
    assert.equal((await post(tokens.viewer, '{"n":4}')).statusCode, 403);
    assert.equal(parsedBodies, before);
    assert.equal((await post(tokens.operator, '{"n":5}')).statusCode, 200);
    assert.equal(parsedBodies, before + 1, 'the counter does count the bodies that are read');
  });

  test('non-read requests are written to the ledger with their outcome; refusals with the reason', async () => {
    const rows = await master.security.audit.recent(50);
    assert.ok(rows.some((r) => r.action === 'POST /api/v1/echo' && r.who === 'o' && r.result === 'ok'));
    assert.ok(rows.some((r) => r.action === 'POST /api/v1/echo' && r.who === 'v' && r.result.startsWith('denied: role viewer')));
    assert.ok(rows.some((r) => r.action === 'POST /api/v1/echo' && r.who === 'o' && r.result === 'error HTTP 413'));
  });
});
