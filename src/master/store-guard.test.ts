import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { silentLogger } from '../common/log.js';
import type { Effect } from '../core/effects.js';
import { Scheduler } from '../core/scheduler.js';
import { spec } from '../core/test-fixtures.js';
import type { TickCommit } from '../store/async-store.js';
import { StoreGuard, type StoreBatch } from './store-guard.js';

/** A store whose commits the test settles by hand, recording each tick. */
class ManualStore {
  readonly ticks: TickCommit[] = [];
  private readonly pending: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  commitTick(tick: TickCommit): Promise<void> {
    this.ticks.push(tick);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  /** The job ids each tick wrote, in order. */
  jobIds(): string[][] {
    return this.ticks.map((tick) => tick.writes.map((w) => w.job.id));
  }

  /** Settles the oldest commit still open, once the guard has sent it. */
  async finish(outcome: 'ok' | Error = 'ok'): Promise<void> {
    await until(() => this.pending.length > 0);
    const next = this.pending.shift()!;
    if (outcome === 'ok') next.resolve();
    else next.reject(outcome);
  }
}

/** Waits turn by turn of the loop (the guard retries a full disk each second); gives up after 10 s. */
async function until(ready: () => boolean): Promise<void> {
  const giveUpAt = Date.now() + 10_000;
  while (!ready()) {
    if (Date.now() > giveUpAt) throw new Error('never ready');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function batchOf(jobId: string): StoreBatch {
  const effects: Effect[] = new Scheduler().submit(jobId, spec(), 0);
  const writes = effects.flatMap((e) => (e.type === 'persist' ? [{ job: e.job, event: e.event }] : []));
  return { writes, dags: [], schedules: [], effects };
}

const diskFull = (): Error => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

/** A guard over a ManualStore, recording the job id of each batch it performs; its folder goes with the test. */
function guarded(t: TestContext): { store: ManualStore; guard: StoreGuard; performed: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'titan-guard-'));
  const store = new ManualStore();
  const performed: string[] = [];
  const guard = new StoreGuard(store, dir, silentLogger(), (batch) => performed.push(batch.writes[0]?.job.id ?? 'none'), undefined, 4096);
  guard.start();
  t.after(() => {
    guard.close();
    rmSync(dir, { recursive: true });
  });
  return { store, guard, performed };
}

void describe("the master's write path (StoreGuard)", () => {
  void test('batches that arrive in one turn of the loop are committed in one transaction, and their effects follow in order', async (t) => {
    const { store, guard, performed } = guarded(t);
    const outcomes = [guard.commit(batchOf('a')), guard.commit(batchOf('b')), guard.commit(batchOf('c'))];
    await store.finish();
    assert.deepEqual(await Promise.all(outcomes), ['committed', 'committed', 'committed']);
    assert.deepEqual(store.jobIds(), [['a', 'b', 'c']]);
    assert.deepEqual(performed, ['a', 'b', 'c']);
  });

  void test('no effect is performed before its commit resolves, and batches that come meanwhile wait for the next commit', async (t) => {
    const { store, guard, performed } = guarded(t);
    const first = guard.commit(batchOf('a'));
    await until(() => store.ticks.length === 1);
    const second = guard.commit(batchOf('b'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(performed, [], 'nothing is dispatched or answered while its rows are not on disk');
    assert.equal(store.ticks.length, 1, 'one commit in flight at a time, so order holds');
    await store.finish();
    assert.equal(await first, 'committed');
    assert.deepEqual(performed, ['a']);
    await store.finish();
    assert.equal(await second, 'committed');
    assert.deepEqual(performed, ['a', 'b']);
    assert.deepEqual(store.jobIds(), [['a'], ['b']]);
  });

  void test('a commit that fails for another reason rejects its batches, performs none of their effects, tells onFailure, and the next commit goes on', async (t) => {
    const { store, guard, performed } = guarded(t);
    const failures: unknown[] = [];
    guard.onFailure = (err) => failures.push(err);
    const failed = guard.commit(batchOf('a'));
    await store.finish(new Error('SQLITE_CORRUPT'));
    await assert.rejects(failed, /SQLITE_CORRUPT/);
    assert.deepEqual(
      failures.map((err) => (err as Error).message),
      ['SQLITE_CORRUPT'],
      "the master's memory is now ahead of its store: whoever wired it decides (a leader steps down)",
    );
    const next = guard.commit(batchOf('b'));
    await store.finish();
    assert.equal(await next, 'committed');
    assert.deepEqual(performed, ['b']);
  });

  void test('on a full disk the reserve is spent on the commit in flight; once that is gone too, batches are held and commit later with their effects', async (t) => {
    const { store, guard, performed } = guarded(t);
    const rescued = guard.commit(batchOf('a'));
    await store.finish(diskFull());
    await store.finish();
    assert.equal(await rescued, 'committed', 'the released reserve lets the write in flight commit');
    assert.equal(guard.isFull, true, 'and new work is refused from then on');

    const held = guard.commit(batchOf('b'));
    await store.finish(diskFull());
    assert.equal(await held, 'held');
    const behind = guard.commit(batchOf('c'));
    assert.equal(await behind, 'held', 'nothing overtakes a held batch');
    assert.deepEqual(performed, ['a']);
    // The guard tries again every second: this time the disk has room.
    await store.finish();
    await until(() => performed.length === 3);
    assert.deepEqual(performed, ['a', 'b', 'c']);
    assert.deepEqual(store.jobIds().at(-1), ['b', 'c'], 'held batches commit together');
    await until(() => !guard.isFull);
  });

  void test('drain resolves once everything accepted so far has committed', async (t) => {
    const { store, guard, performed } = guarded(t);
    void guard.commit(batchOf('a'));
    let drained = false;
    const draining = guard.drain().then(() => (drained = true));
    await until(() => store.ticks.length === 1);
    assert.equal(drained, false);
    await store.finish();
    await draining;
    assert.deepEqual(performed, ['a']);
  });
});
