import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { runArtifactConformance } from './artifact-conformance.js';
import { IN_USE_QUERIES } from './artifact-reach.js';
import { SqliteAsyncStore } from './sqlite-async-store.js';
import { SqliteStore } from './sqlite-store.js';

const dir = await mkdtemp(join(tmpdir(), 'titan-artifact-reach-'));
after(() => rm(dir, { recursive: true, force: true }));
let files = 0;
const newPath = (): string => join(dir, `store-${++files}.db`);

runArtifactConformance('sqlite', () => Promise.resolve(new SqliteAsyncStore(SqliteStore.open(newPath()))));

test('whether an artifact is in use is answered by indexes, not by reading every job or key', (t) => {
  const store = SqliteStore.open(newPath());
  t.after(() => store.close());
  const db = new Database(store.path, { readonly: true });
  t.after(() => db.close());
  for (const [what, sql] of Object.entries(IN_USE_QUERIES)) {
    const plan = db
      .prepare<[string], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
      .all('x')
      .map((r) => r.detail)
      .join('\n');
    assert.match(plan, /USING COVERING INDEX/, `${what}: ${plan}`);
  }
});
