import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AsyncStore } from './async-store.js';
import { groupCommitThroughput } from './group-commit-bench.js';
import { PostgresStore } from './postgres/pg-store.js';
import { connectTestAdmin, TEST_PG_URL, TestSchemas } from './postgres/pg-test-schema.js';
import { SqliteAsyncStore } from './sqlite-async-store.js';
import { SqliteStore } from './sqlite-store.js';

async function checkRun(store: AsyncStore): Promise<void> {
  const figures = await groupCommitThroughput(store, 250, 100);
  assert.equal(figures.transitions, 750);
  assert.equal(figures.ticks, 8);
  assert.ok(figures.transitionsPerSecond > 0);
  const counts = await store.countByState();
  assert.equal(counts.succeeded, 250, 'every job ends succeeded');
  assert.deepEqual(
    (await store.jobEvents('gc-1')).map((e) => e.to),
    ['queued', 'running', 'succeeded'],
  );
}

void test('the group-commit bench drives every job through its life on the SQLite store', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'titan-gc-bench-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new SqliteAsyncStore(SqliteStore.open(join(dir, 'titan.db')));
  t.after(() => store.close());
  await checkRun(store);
});

void test('the group-commit bench drives every job through its life on the PostgreSQL store', async (t) => {
  const admin = await connectTestAdmin();
  const schemas = new TestSchemas(admin);
  t.after(async () => {
    await schemas.dropAll();
    await admin.end();
  });
  const store = await PostgresStore.open(TEST_PG_URL, { schema: await schemas.create('gcbench'), max: 2 });
  t.after(() => store.close());
  await checkRun(store);
});
