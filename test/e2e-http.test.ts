import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, TOKEN } from './harness.js';

describe('the master HTTP port', () => {
  const cluster = new Cluster();
  const url = (path: string): string => `http://127.0.0.1:${cluster.httpPort}${path}`;
  before(() => cluster.startMaster());
  after(() => cluster.close());

  test('answers the liveness and readiness probes without a token', async () => {
    const health = await fetch(url('/healthz'));
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
    const ready = await fetch(url('/readyz'));
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { ready: boolean }).ready, true);
  });

  test('refuses every other route without the cluster token, naming the header to send', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: TOKEN }]) {
      const res = await fetch(url('/api/v1/anything'), { headers });
      assert.equal(res.status, 401);
      const body = (await res.json()) as { code: string; error: string };
      assert.equal(body.code, 'E_UNAUTHENTICATED');
      assert.match(body.error, /Authorization: Bearer/);
    }
  });

  test('with the token an unknown route is a 404, not a refusal', async () => {
    const res = await fetch(url('/api/v1/anything'), { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 404);
  });
});
