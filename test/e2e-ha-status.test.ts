import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterStatsView, MasterEntryView } from '../src/protocol/views.js';
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
    await killAndWait(dead.process, 'SIGKILL');
    const next = await cluster.leader();
    assert.notEqual(next, dead);
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
});
