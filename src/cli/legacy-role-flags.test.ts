import { test } from 'node:test';
import assert from 'node:assert/strict';
import { masterOptionsFrom } from './cmd-master.js';

void test('--legacy-role over TITAN_LEGACY_ROLE; absent means the gate uses operator; a role that does not exist is refused', () => {
  const legacy = { allowLegacyUnauthenticated: true, http: false as const };
  assert.equal(masterOptionsFrom(legacy, {}).legacyRole, undefined);
  assert.equal(masterOptionsFrom(legacy, { TITAN_LEGACY_ROLE: 'viewer' }).legacyRole, 'viewer');
  assert.equal(masterOptionsFrom({ ...legacy, legacyRole: 'admin' }, { TITAN_LEGACY_ROLE: 'viewer' }).legacyRole, 'admin');
  assert.throws(() => masterOptionsFrom(legacy, { TITAN_LEGACY_ROLE: 'superuser' }), /--legacy-role must be one of admin, operator, viewer .*not "superuser"/);
});
