import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { AsyncStore } from './async-store.js';
import type { LogLine } from './store.js';

/**
 * The job-output part of the store contract, for every backend (beside runStoreConformance):
 * `makeStore` gives a new empty store, `reopen` the same data after close.
 */
export function runLogConformance<S extends AsyncStore>(name: string, makeStore: () => Promise<S>, reopen: (closed: S) => Promise<S>): void {
  async function fresh(t: TestContext): Promise<S> {
    const store = await makeStore();
    t.after(() => store.close());
    return store;
  }
  async function restart(t: TestContext, store: S): Promise<S> {
    await store.close();
    const again = await reopen(store);
    t.after(() => again.close());
    return again;
  }

  // node:test's describe() and test() return promises its runner awaits; `void` tells the linter.
  void describe(`${name} store: job output`, () => {
    void test('logs resume after a seq', async (t) => {
      const store = await fresh(t);
      await store.appendLogs([log('a', 'one'), log('b', 'other'), log('a', 'two', 'stderr')]);
      await store.appendLogs([log('a', 'three'), log('a', 'four')]);
      const all = await store.readLogs('a', 0, 100);
      assert.deepEqual(
        all.map((l) => l.line),
        ['one', 'two', 'three', 'four'],
      );
      assert.deepEqual(all[1], { ...log('a', 'two', 'stderr'), seq: all[1]?.seq });
      const seqs = all.map((l) => l.seq);
      assert.deepEqual(
        [...seqs].sort((x, y) => x - y),
        seqs,
        'seqs increase in append order',
      );
      assert.equal(new Set(seqs).size, seqs.length);
      const afterTwo = await store.readLogs('a', seqs[1] ?? 0, 100);
      assert.deepEqual(
        afterTwo.map((l) => l.line),
        ['three', 'four'],
      );
      assert.deepEqual(
        (await store.readLogs('a', seqs[0] ?? 0, 2)).map((l) => l.line),
        ['two', 'three'],
      );
      assert.deepEqual(await store.readLogs('a', seqs[3] ?? 0, 100), []);
      assert.deepEqual(
        (await store.readLogs('b', 0, 100)).map((l) => l.line),
        ['other'],
      );
    });

    void test('a large batch of mixed streams reads back line by line, in order', async (t) => {
      const store = await fresh(t);
      const batch = Array.from({ length: 3000 }, (_, i) => log('a', `line ${i} ${'x'.repeat(100)}`, i % 7 === 0 ? 'stderr' : 'stdout'));
      await store.appendLogs(batch);
      const read: string[] = [];
      let cursor = 0;
      for (let page = await store.readLogs('a', 0, 250); page.length > 0; page = await store.readLogs('a', cursor, 250)) {
        cursor = page[page.length - 1]?.seq ?? cursor;
        read.push(...page.map((l) => `${l.stream}:${l.line}`));
      }
      assert.deepEqual(
        read,
        batch.map((l) => `${l.stream}:${l.line}`),
      );
    });

    void test('logBytes counts each line in UTF-8 with its newline', async (t) => {
      const store = await fresh(t);
      assert.equal(await store.logBytes('a'), 0);
      await store.appendLogs([log('a', 'abc'), log('a', 'é'), log('b', 'zz')]);
      assert.equal(await store.logBytes('a'), 4 + 3);
    });

    void test('log seqs keep increasing after reopen', async (t) => {
      let store = await fresh(t);
      await store.appendLogs([log('a', 'one')]);
      const [first] = await store.readLogs('a', 0, 10);
      store = await restart(t, store);
      await store.appendLogs([log('a', 'two')]);
      const lines = await store.readLogs('a', first?.seq ?? 0, 10);
      assert.deepEqual(
        lines.map((l) => l.line),
        ['two'],
      );
    });
  });
}

function log(jobId: string, line: string, stream: LogLine['stream'] = 'stdout'): LogLine {
  return { jobId, attempt: 1, stream, at: 1000, line };
}
