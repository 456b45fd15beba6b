import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TitanError } from '../common/errors.js';
import { checkSharedSecrets, secretFingerprint, type SharedSecret } from './shared-secrets.js';

/** The two meta methods the check uses, on a map. */
function metaStore(): { getMeta(key: string): Promise<string | undefined>; setMeta(key: string, value: string): Promise<void>; rows: Map<string, string> } {
  const rows = new Map<string, string>();
  return { rows, getMeta: async (key) => rows.get(key), setMeta: async (key, value) => void rows.set(key, value) };
}

const secrets = (token: string, audit = 'a'.repeat(64)): SharedSecret[] => [
  { name: 'token', file: '/etc/titan/token', value: token },
  { name: 'audit.key', file: '/etc/titan/audit.key', value: audit },
];

test('the first leader records a fingerprint of each secret; masters holding the same secrets pass', async () => {
  const store = metaStore();
  await checkSharedSecrets(store, secrets('tok-1'), true);
  assert.equal(store.rows.size, 2);
  assert.ok(![...store.rows.values()].some((v) => v.includes('tok-1')), 'the store never holds the secret itself');
  const again = await checkSharedSecrets(store, secrets('tok-1'), false);
  assert.deepEqual([...again.usedBefore], ['token', 'audit.key'], 'what the cluster used before, e.g. for the ledger check at start');
});

test('a master with another secret is refused, naming the secret and its file', async () => {
  const store = metaStore();
  await checkSharedSecrets(store, secrets('tok-1'), true);
  await assert.rejects(
    checkSharedSecrets(store, secrets('tok-1', 'b'.repeat(64)), false),
    (err: unknown) =>
      err instanceof TitanError && /audit\.key \(\/etc\/titan\/audit\.key\) differs/.test(err.message) && /copy it from a master/.test(err.message),
  );
});

test('a standby records nothing: only a leader (whose writes are fenced) does', async () => {
  const store = metaStore();
  await checkSharedSecrets(store, secrets('tok-1'), false);
  assert.equal(store.rows.size, 0);
});

test('fingerprints differ between secrets of the same value under different names', () => {
  const value = 'same';
  assert.notEqual(secretFingerprint({ name: 'token', file: 'x', value }), secretFingerprint({ name: 'audit.key', file: 'x', value }));
});
