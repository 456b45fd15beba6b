/**
 * Group commit: the transitions/s each store commits when the master's shell hands it one tick
 * (500 transitions) at a time, SQLite through its async adapter and PostgreSQL on the machine's
 * server (in a schema of its own, dropped after). Beside the pure core's figure (dag-core.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupCommitThroughput, type GroupCommitFigures } from '../src/store/group-commit-bench.js';
import { PostgresStore } from '../src/store/postgres/pg-store.js';
import { connectTestAdmin, TEST_PG_URL, TestSchemas } from '../src/store/postgres/pg-test-schema.js';
import { SqliteAsyncStore } from '../src/store/sqlite-async-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';

export async function groupCommitFigures(jobs = 20_000, perTick = 500): Promise<{ sqlite: GroupCommitFigures; postgres: GroupCommitFigures }> {
  const dir = mkdtempSync(join(tmpdir(), 'titan-bench-gc-'));
  let sqlite: GroupCommitFigures;
  try {
    const store = new SqliteAsyncStore(SqliteStore.open(join(dir, 'titan.db')));
    try {
      sqlite = await groupCommitThroughput(store, jobs, perTick);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const admin = await connectTestAdmin();
  const schemas = new TestSchemas(admin);
  try {
    const store = await PostgresStore.open(TEST_PG_URL, { schema: await schemas.create('bench'), max: 2 });
    try {
      return { sqlite, postgres: await groupCommitThroughput(store, jobs, perTick) };
    } finally {
      await store.close();
    }
  } finally {
    await schemas.dropAll();
    await admin.end();
  }
}
