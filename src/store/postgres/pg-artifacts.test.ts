import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { runArtifactBytesConformance } from '../artifact-bytes-conformance.js';
import { PgArtifacts } from './pg-artifacts.js';
import { PostgresStore } from './pg-store.js';
import { connectTestAdmin, TEST_PG_URL, TestSchemas } from './pg-test-schema.js';

// Not skipped when the server is down: the file fails, naming the command that starts it.
const admin = await connectTestAdmin();
const schemas = new TestSchemas(admin);
after(async () => {
  await schemas.dropAll();
  await admin.end();
});

async function storeIn(t: TestContext): Promise<PostgresStore> {
  const store = await PostgresStore.open(TEST_PG_URL, { schema: await schemas.create('artifacts'), max: 2 });
  t.after(() => store.close());
  return store;
}

/** A master's data dir folder for its mirror. */
function mirrorDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'titan-pg-artifacts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

runArtifactBytesConformance('postgres', async (t) => {
  const store = await storeIn(t);
  const dir = mirrorDir(t);
  return {
    bytes: await PgArtifacts.open(store.blobs, dir),
    age: async (hash, at) => {
      await store.pool.query('UPDATE artifact_blobs SET created_at = $2 WHERE hash = $1', [hash, at.getTime()]);
      utimesSync(join(dir, hash), at, at);
    },
  };
});

void describe('artifact bytes on PostgreSQL, across masters', () => {
  void test('a master that starts to lead holds what another master stored, dated as uploaded', async (t) => {
    const store = await storeIn(t);
    const first = await PgArtifacts.open(store.blobs, mirrorDir(t));
    const hash = await first.put(Buffer.from('print("hi")\n'));
    const uploadedAt = Date.now() - 3_600_000;
    await store.pool.query('UPDATE artifact_blobs SET created_at = $2 WHERE hash = $1', [hash, uploadedAt]);
    const next = await PgArtifacts.open(store.blobs, mirrorDir(t));
    assert.equal(next.has(hash), true);
    assert.equal(next.get(hash).toString(), 'print("hi")\n');
    assert.equal(
      await next.collect(hash, Date.now() - 60_000, () => Promise.resolve(false)),
      'print("hi")\n'.length,
      'old, as uploaded: not fresh from the copy',
    );
  });

  void test('retention on one master deletes the row, and a master that leads later drops its stale copy', async (t) => {
    const store = await storeIn(t);
    const staleDir = mirrorDir(t);
    const stale = await PgArtifacts.open(store.blobs, staleDir);
    const hash = await stale.put(Buffer.from('collected elsewhere'));
    await store.pool.query('UPDATE artifact_blobs SET created_at = 0 WHERE hash = $1', [hash]);
    const leader = await PgArtifacts.open(store.blobs, mirrorDir(t));
    assert.equal(await leader.collect(hash, Date.now(), () => Promise.resolve(false)), 'collected elsewhere'.length);
    assert.equal(await store.blobs.has(hash), false);
    const again = await PgArtifacts.open(store.blobs, staleDir);
    assert.equal(again.has(hash), false);
    assert.equal(existsSync(join(staleDir, hash)), false);
  });
});
