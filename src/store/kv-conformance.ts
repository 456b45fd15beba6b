import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { AsyncStore } from './async-store.js';

/**
 * The KV and published-artifact part of the store contract, for every backend (beside
 * runStoreConformance): `makeStore` gives a new empty store, `reopen` the same data after close.
 */
export function runKvConformance<S extends AsyncStore>(name: string, makeStore: () => Promise<S>, reopen: (closed: S) => Promise<S>): void {
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
  void describe(`${name} store: KV and artifacts`, () => {
    void test('a key set with a TTL reads back until it expires, then is absent', async (t) => {
      const store = await fresh(t);
      await store.kvPut('greeting', 'hello', 1000, 100);
      await store.kvPut('forever', 'v', null, 100);
      assert.deepEqual(await store.kvGet('greeting', 1099), { kind: 'string', value: 'hello' });
      assert.equal(await store.kvGet('greeting', 1100), undefined);
      assert.equal(await store.kvGet('greeting', 50), undefined, 'an expired key is deleted once seen, not revived');
      assert.deepEqual(await store.kvGet('forever', 1e12), { kind: 'string', value: 'v' });
      await store.kvPut('forever', 'w', 10, 200);
      await store.kvPut('forever', 'x', null, 205);
      assert.deepEqual(await store.kvGet('forever', 1e12), { kind: 'string', value: 'x' }, 'a put without TTL clears the old one');
      await store.kvSadd('tags', ['a'], 500, 100);
      assert.deepEqual(await store.kvSmembers('tags', 599), ['a']);
      assert.deepEqual(await store.kvSmembers('tags', 600), []);
      assert.equal(await store.kvSadd('tags', ['b'], null, 700), 1, 'an expired set starts empty again');
      assert.deepEqual(await store.kvSmembers('tags', 1e12), ['b']);
    });

    void test('keys are listed by prefix in key order, live ones only, at most limit', async (t) => {
      const store = await fresh(t);
      await store.kvSadd('run:b', ['d2'], null, 100);
      await store.kvSadd('run:a', ['d1'], null, 100);
      await store.kvPut('run:c', 'x', 50, 100);
      await store.kvPut('runner', 'y', null, 100);
      await store.kvPut('other', 'z', null, 100);
      assert.deepEqual(await store.kvKeys('run:', 10, 120), ['run:a', 'run:b', 'run:c']);
      assert.deepEqual(await store.kvKeys('run:', 10, 150), ['run:a', 'run:b'], 'an expired key is not listed');
      assert.deepEqual(await store.kvKeys('run:', 1, 120), ['run:a']);
      assert.deepEqual(await store.kvKeys('', 10, 150), ['other', 'run:a', 'run:b', 'runner']);
    });

    void test('a key is refused when used as the other kind, with a WRONGTYPE message naming the fix', async (t) => {
      const store = await fresh(t);
      const wrongType =
        (holds: string, fix: string) =>
        (err: unknown): boolean => {
          assert.ok(err instanceof TitanError);
          assert.equal(err.code, ErrorCode.INVALID_REQUEST);
          assert.match(err.message, new RegExp(`^WRONGTYPE: key "k" holds a ${holds}.*${fix}.*titan kv del`));
          return true;
        };
      await store.kvPut('k', 'text', null, 100);
      await assert.rejects(async () => store.kvSadd('k', ['m'], null, 100), wrongType('string', 'titan kv get'));
      await assert.rejects(async () => store.kvSmembers('k', 100), wrongType('string', 'titan kv get'));
      assert.deepEqual(await store.kvGet('k', 100), { kind: 'string', value: 'text' }, 'the refused sadd wrote nothing');
      assert.equal(await store.kvDelete('k'), true);
      assert.equal(await store.kvDelete('k'), false);
      await store.kvSadd('k', ['m'], null, 100);
      await assert.rejects(async () => store.kvPut('k', 'text', null, 100), wrongType('set', 'titan kv smembers'));
      assert.deepEqual(await store.kvGet('k', 100), { kind: 'set', value: ['m'] });
      await store.kvSadd('old', ['m'], 10, 100);
      await store.kvPut('old', 'now a string', null, 200);
      assert.deepEqual(await store.kvGet('old', 200), { kind: 'string', value: 'now a string' }, 'an expired set does not block a put');
    });

    void test('sadd counts only the members that were new, and keeps them in the order first added', async (t) => {
      const store = await fresh(t);
      assert.equal(await store.kvSadd('s', ['b', 'a', 'b'], null, 100), 2);
      assert.equal(await store.kvSadd('s', ['a', 'c', 'é ✓', 'c'], null, 100), 2);
      assert.equal(await store.kvSadd('s', ['a'], null, 100), 0);
      assert.deepEqual(await store.kvSmembers('s', 100), ['b', 'a', 'c', 'é ✓']);
      assert.deepEqual(await store.kvSmembers('missing', 100), []);
      await store.kvSadd('ttl', ['x'], 100, 1000);
      await store.kvSadd('ttl', ['y'], null, 1050);
      assert.deepEqual(await store.kvSmembers('ttl', 1099), ['x', 'y']);
      assert.deepEqual(await store.kvSmembers('ttl', 1100), [], "a sadd without TTL keeps the set's expiry");
    });

    void test('published artifacts are found by key and listed by prefix in key order; a new publish replaces the old', async (t) => {
      const store = await fresh(t);
      const h = (c: string): string => c.repeat(64);
      await store.publishArtifact('model/b', h('b'), 2, 'job-1', 100);
      await store.publishArtifact('model/a', h('a'), 1, null, 101);
      await store.publishArtifact('modem', h('c'), 3, null, 102);
      await store.publishArtifact('model/a', h('d'), 4, 'job-2', 103);
      assert.deepEqual(await store.getKeyedArtifact('model/a'), { key: 'model/a', hash: h('d'), size: 4, publishedAt: 103, jobId: 'job-2' });
      assert.equal(await store.getKeyedArtifact('model'), undefined);
      assert.deepEqual(
        (await store.listKeyedArtifacts('model/', 10)).map((a) => a.key),
        ['model/a', 'model/b'],
      );
      assert.deepEqual(
        (await store.listKeyedArtifacts('mode', 10)).map((a) => a.key),
        ['model/a', 'model/b', 'modem'],
      );
      assert.deepEqual(
        (await store.listKeyedArtifacts('', 2)).map((a) => a.key),
        ['model/a', 'model/b'],
      );
      assert.deepEqual(await store.listKeyedArtifacts('x', 10), []);
    });

    void test('keys, sets, TTLs and published artifacts survive reopen', async (t) => {
      let store = await fresh(t);
      await store.kvPut('s', 'value', null, 100);
      await store.kvPut('short', 'v', 1000, 100);
      await store.kvSadd('set', ['a', 'b'], null, 100);
      await store.publishArtifact('out', 'f'.repeat(64), 10, 'j', 100);
      store = await restart(t, store);
      assert.deepEqual(await store.kvGet('s', 200), { kind: 'string', value: 'value' });
      assert.deepEqual(await store.kvGet('short', 200), { kind: 'string', value: 'v' });
      assert.equal(await store.kvGet('short', 1100), undefined, 'the TTL is kept across reopen');
      assert.deepEqual(await store.kvSmembers('set', 200), ['a', 'b']);
      assert.equal((await store.getKeyedArtifact('out'))?.size, 10);
    });
  });
}
