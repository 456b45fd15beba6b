/**
 * Refused requests cannot flood the ledger or go unlimited (issue 14 item 7: 9,413 rows and 40 MB
 * in 10 s from 16 clients), and protocol v1 clients, all one identity, are never limited where the
 * original Titan was not (issue 16 item 7).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from './harness.js';
import { OP, v1 } from './v1-client.js';

describe('a flood of bad tokens', () => {
  const cluster = new Cluster();
  before(() => cluster.startMaster(['--allow-legacy-unauthenticated']));
  after(() => cluster.close());

  test('16 clients sending 50 bad-token requests each are limited by source address and leave a bounded number of ledger rows', async () => {
    const admin = await cluster.client();
    const before = (await admin.security.audit(5000)).filter((r) => r.who === 'anonymous').length;
    const statuses = new Map<number, number>();
    await Promise.all(
      Array.from({ length: 16 }, async (_, client) => {
        for (let i = 0; i < 50; i++) {
          // Varying the route does not make a row each: refusals are grouped by source and reason.
          const res = await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/jobs/${client}-${i}`, {
            headers: { authorization: 'Bearer titan_000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro' },
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }),
    );
    assert.equal((statuses.get(401) ?? 0) + (statuses.get(429) ?? 0), 800, JSON.stringify([...statuses]));
    assert.ok((statuses.get(429) ?? 0) >= 700, `most of the flood is answered 429: ${JSON.stringify([...statuses])}`);
    // A valid token from the same address is not locked out by the flood.
    assert.equal((await admin.stats()).workers.length, 0);
    const rows = (await admin.security.audit(5000)).filter((r) => r.who === 'anonymous').length - before;
    assert.ok(rows >= 1 && rows <= 4, `800 refusals wrote ${rows} ledger rows`);
  });

  test('5 v1 threads writing 300 keys each and reading them back are never refused', async () => {
    const refused: string[] = [];
    await Promise.all(
      Array.from({ length: 5 }, async (_, thread) => {
        for (let i = 0; i < 300; i++) {
          const put = await v1(cluster.port, OP.KV_SET, `t${thread}-k${i}|v${i}`);
          if (put.text !== 'OK') refused.push(put.text);
        }
        for (let i = 0; i < 300; i++) {
          const got = await v1(cluster.port, OP.KV_GET, `t${thread}-k${i}`);
          if (got.text !== `v${i}`) refused.push(got.text);
        }
      }),
    );
    assert.deepEqual(refused.slice(0, 3), [], `${refused.length} of 3,000 v1 requests failed`);
  });
});
