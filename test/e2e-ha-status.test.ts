import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterStatsView, MasterEntryView } from '../src/protocol/views.js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PRIVATE_KEY_FILE } from '../src/inference/keys.js';
import { killAndWait, until } from './harness.js';
import { HaCluster, type HaMaster } from './ha-cluster.js';

/**
 * `titan stats` on a cluster of masters (docs/HA.md): the leader lists every master that
 * announced itself in the database — itself with its epoch, the standbys, and those gone.
 */
describe('titan stats lists the masters of a cluster', () => {
  const cluster = new HaCluster({ leaseTtl: '2s' });
  let masters: HaMaster[] = [];

  before(async () => {
    await cluster.open();
    masters = [await cluster.startMaster('a'), await cluster.startMaster('b'), await cluster.startMaster('c')];
  });
  after(() => cluster.close());

  const address = (m: HaMaster): string => `127.0.0.1:${m.port}`;
  const byAddress = (stats: ClusterStatsView, m: HaMaster): MasterEntryView | undefined => stats.masters?.masters.find((e) => e.tcp === address(m));

  async function publicKey(master: HaMaster): Promise<unknown> {
    const res = await fetch(`http://127.0.0.1:${master.httpPort}/api/v1/public-key`);
    assert.equal(res.status, 200);
    return res.json();
  }

  async function stats(): Promise<ClusterStatsView> {
    const result = await cluster.cli(['stats', '--json']);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as ClusterStatsView;
  }

  test('the CLI given every master shows the leader with its epoch and the two standbys; the leader’s /healthz says it leads', async () => {
    const leader = await cluster.leader();
    const standbys = masters.filter((m) => m !== leader);
    // Every master writes its row within a couple of seconds of starting.
    const shown = await until('every master listed', async () => {
      const s = await stats();
      return s.masters?.masters.length === 3 && s;
    });
    const view = shown.masters!;
    assert.ok(view.epoch >= 1);
    assert.deepEqual(byAddress(shown, leader), { ...byAddress(shown, leader)!, role: 'leader', epoch: view.epoch, http: `127.0.0.1:${leader.httpPort}` });
    assert.equal(view.masters[0]!.tcp, address(leader), 'the leader comes first');
    for (const standby of standbys) assert.equal(byAddress(shown, standby)?.role, 'standby');
    for (const entry of view.masters) assert.ok(entry.lastSeenMsAgo < 10_000, `${entry.name} seen lately`);

    const health = await cluster.health(leader);
    assert.equal(health?.role, 'leader');
    assert.equal(health?.epoch, view.epoch);

    const text = await cluster.cli(['stats']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^masters: epoch ${view.epoch}, leader `, 'm'));
    assert.match(text.stdout, /^MASTER\s+ROLE\s+EPOCH\s+TCP\s+HTTP\s+LAST_SEEN$/m);
  });

  test('after the leader is SIGKILLed another leads at a higher epoch, and the dead one is shown gone', async () => {
    const before = (await stats()).masters!.epoch;
    const dead = await cluster.leader();
    const routingKey = await publicKey(dead);
    await killAndWait(dead.process, 'SIGKILL');
    const next = await cluster.leader();
    assert.notEqual(next, dead);
    assert.deepEqual(await publicKey(next), routingKey, 'inference routing tokens signed by the old leader verify with the new one’s key');
    const shown = await until(
      'the dead leader shown as gone',
      async () => {
        const s = await stats();
        return byAddress(s, dead)?.role === 'gone' && s;
      },
      40_000,
    );
    const view = shown.masters!;
    assert.ok(view.epoch > before, `epoch ${view.epoch} after ${before}`);
    assert.equal(byAddress(shown, next)?.role, 'leader');
    assert.equal(byAddress(shown, next)?.epoch, view.epoch);
    assert.equal(masters.filter((m) => m !== dead && m !== next).map((m) => byAddress(shown, m)?.role)[0], 'standby');
    assert.ok(byAddress(shown, dead)!.lastSeenMsAgo >= 10_000);
  });

  test('a master whose inference signing key is not the cluster’s refuses to start, naming the file to copy', async () => {
    const dataDir = cluster.dataDirFor('odd-key');
    rmSync(join(dataDir, PRIVATE_KEY_FILE)); // it makes a key of its own at start
    const refused = await cluster.masterUntilExit(dataDir);
    assert.notEqual(refused.code, 0);
    const named = `${PRIVATE_KEY_FILE} (${join(dataDir, PRIVATE_KEY_FILE)}) differs from the one the other masters on this store use`;
    assert.ok(refused.stderr.includes(named), refused.stderr);
  });
});
