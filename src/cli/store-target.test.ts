import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { TitanError } from '../common/errors.js';
import { redacted, storeTarget } from './store-target.js';

const DATA_DIR = '/var/lib/titan';

test("no store given is the data dir's SQLite file, as before", () => {
  assert.deepEqual(storeTarget({}, DATA_DIR, {}), { kind: 'sqlite', file: join(DATA_DIR, 'titan.db') });
});

test('a path is a SQLite file, relative paths from the current folder', () => {
  assert.deepEqual(storeTarget({ store: '/srv/titan.db' }, DATA_DIR, {}), { kind: 'sqlite', file: '/srv/titan.db' });
  assert.deepEqual(storeTarget({ store: 'here.db' }, DATA_DIR, {}), { kind: 'sqlite', file: resolve('here.db') });
});

test('a postgres:// URL from the flag or TITAN_STORE is a PostgreSQL store, the flag first', () => {
  assert.deepEqual(storeTarget({}, DATA_DIR, { TITAN_STORE: 'postgres://titan@db:5432/titan' }), { kind: 'postgres', url: 'postgres://titan@db:5432/titan' });
  assert.deepEqual(storeTarget({ store: 'postgresql://a@b/c', storeSchema: 'team_a' }, DATA_DIR, { TITAN_STORE: 'postgres://x@y/z' }), {
    kind: 'postgres',
    url: 'postgresql://a@b/c',
    schema: 'team_a',
  });
});

test('mistakes are named with the fix, and a password never appears in the message', () => {
  const refused = (flags: { store?: string; storeSchema?: string }, pattern: RegExp): void =>
    assert.throws(
      () => storeTarget(flags, DATA_DIR, {}),
      (err: unknown) => err instanceof TitanError && pattern.test(err.message) && !err.message.includes('s3cret'),
    );
  refused({ store: 'mysql://u:s3cret@h/db' }, /postgres:\/\/ URL or a SQLite file path/);
  refused({ store: 'postgres://u:s3cret@h' }, /names no database; write it as postgres:\/\/user@host:5432\/db/);
  refused({ store: 'postgres://u@h/db', storeSchema: 'Bad-Name' }, /lowercase letters, digits and underscores/);
  refused({ storeSchema: 'team_a' }, /is for a PostgreSQL store/);
});

test('redacted hides the password only', () => {
  assert.equal(redacted('postgres://titan:s3cret@db:5432/titan'), 'postgres://titan:***@db:5432/titan');
  assert.equal(redacted('postgres://titan@db/titan'), 'postgres://titan@db/titan');
});
