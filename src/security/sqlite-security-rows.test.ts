import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../store/sqlite-store.js';
import { runSecurityRowsConformance } from './security-rows-conformance.js';
import type { SecurityRows } from './security-rows.js';
import { SqliteSecurityRows } from './sqlite-security-rows.js';

const dir = await mkdtemp(join(tmpdir(), 'titan-security-'));
after(() => rm(dir, { recursive: true, force: true }));
let files = 0;

runSecurityRowsConformance('sqlite', (t) => {
  // A migrated store file and security's own connection to it, as the master has.
  const path = join(dir, `t-${++files}.db`);
  SqliteStore.open(path).close();
  let rows: SecurityRows = new SqliteSecurityRows(path);
  t.after(() => rows.close());
  return Promise.resolve({
    rows,
    reopen: () => {
      rows.close();
      rows = new SqliteSecurityRows(path);
      return Promise.resolve(rows);
    },
    tamper: (sql) => {
      const raw = new Database(path);
      raw.exec(sql);
      raw.close();
      return Promise.resolve();
    },
  });
});
