import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Scheduler } from '../core/scheduler.js';
import { spec, worker } from '../core/test-fixtures.js';
import type { Effect } from '../core/effects.js';
import { SqliteAsyncStore } from '../store/sqlite-async-store.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { jobPorts, type PortSources } from './job-ports.js';

function ports(applied: Effect[][] = []): { scheduler: Scheduler; store: SqliteStore; cut: ReturnType<typeof jobPorts> } {
  const scheduler = new Scheduler();
  const store = SqliteStore.open(':memory:');
  const sources: PortSources = {
    scheduler,
    store: new SqliteAsyncStore(store),
    apply: (effects) => void applied.push([...effects]),
    applyAndWait: (effects) => (applied.push([...effects]), Promise.resolve(true)),
    applyAcknowledged: (effects) => (applied.push([...effects]), Promise.resolve()),
    refuseWhenStoreFull: () => undefined,
    explainedWait: (job, now) => `explained: ${scheduler.waitingReason(job, now) ?? 'nothing'}`,
  };
  return { scheduler, store, cut: jobPorts(sources) };
}

void describe("the master's job ports", () => {
  void test('each port lets through its named methods and nothing else of the core or the store', () => {
    const { store, cut } = ports();
    assert.deepEqual(Object.keys(cut.commands).sort(), [
      'apply',
      'applyAcknowledged',
      'applyAndWait',
      'approve',
      'cancel',
      'cancelDag',
      'createDag',
      'holdAdmission',
      'refuseWhenStoreFull',
      'reject',
      'releaseAdmission',
      'restartService',
      'retry',
      'stopService',
      'submit',
    ]);
    assert.deepEqual(Object.keys(cut.kv).sort(), [
      'getKeyedArtifact',
      'kvDelete',
      'kvGet',
      'kvKeys',
      'kvPut',
      'kvSadd',
      'kvSmembers',
      'listKeyedArtifacts',
      'publishArtifact',
    ]);
    assert.deepEqual(Object.keys(cut.schedules).sort(), ['deleteSchedule', 'listSchedules']);
    assert.deepEqual(Object.keys(cut.legacyNames).sort(), ['getJob', 'getMeta', 'setMeta']);
    assert.deepEqual(Object.keys(cut.reaps).sort(), ['reapOverdue', 'reapUnreported']);
    // Nothing that writes jobs, workers or the store's meta leaks into the read model.
    for (const name of ['submit', 'registerWorker', 'commitTick', 'setMeta', 'kvPut', 'pruneBatch', 'close']) assert.equal(name in cut.reads, false, name);
    assert.equal('submit' in cut.workerReports, false);
    store.close();
  });

  void test('their methods act on the core and the store they were cut from; the store answers in promises', async () => {
    const applied: Effect[][] = [];
    const { scheduler, store, cut } = ports(applied);
    cut.workerReports.registerWorker(worker('w', { slots: 1 }), 0);
    cut.commands.apply(cut.commands.submit('j1', spec(), 0));
    assert.equal(cut.reads.job('j1'), scheduler.job('j1'));
    assert.equal(applied.length, 1);
    await cut.kv.kvPut('k', 'v', null, 0);
    assert.deepEqual(store.kvGet('k', 0), { kind: 'string', value: 'v' });
    assert.equal(await cut.reads.getJob('nothing-stored'), undefined);
    cut.commands.submit('j2', spec(), 0);
    assert.match(cut.reads.explainedWait(scheduler.job('j2')!, 0) ?? '', /^explained: /);
    store.close();
  });
});
