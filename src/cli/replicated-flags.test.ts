import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replicatedOptionsFrom } from './cmd-master.js';

const STORE = { store: 'postgres://titan@db:5432/titan', dataDir: '/var/lib/titan' };

test('without a postgres:// store titan master is the single SQLite master, as before', () => {
  assert.equal(replicatedOptionsFrom({ dataDir: '/var/lib/titan' }, {}), null);
});

test('--store postgres:// with the defaults is one of several masters on that database', () => {
  const options = replicatedOptionsFrom({ ...STORE, storeSchema: 'team_a', advertise: 'm1.example', leaseTtl: '5s' }, {});
  assert.deepEqual(options?.postgres, { url: STORE.store, schema: 'team_a' });
  assert.equal(options?.advertiseHost, 'm1.example');
  assert.equal(options?.leaseTtlMs, 5_000);
});

test('a heartbeat timeout shorter than two leases is refused: after a failover workers could not claim their jobs in time, which would run them twice', () => {
  assert.throws(
    () => replicatedOptionsFrom({ ...STORE, leaseTtl: '4s', heartbeatTimeout: '3000' }, {}),
    /--heartbeat-timeout 3000ms is too short for --lease-ttl 4000ms.*at least 8000ms, or a shorter lease/,
  );
  assert.throws(() => replicatedOptionsFrom({ ...STORE, leaseTtl: '100ms' }, {}), /--lease-ttl must be at least 300ms/);
});
